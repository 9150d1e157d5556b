import { refreshSchedules, schedulesApi } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';
import { defineCommand, parseCommand } from '../command.js';
import { KUBE_OPTIONS, kubeTarget } from '../kubeTarget.js';
import { log } from '../log.js';

export const REFRESH_SCHEDULES = defineCommand({
  name: 'refresh-schedules',
  summary: "Has Argo validate CronWorkflows again once their WorkflowTemplate exists (the chart's hook runs this).",
  usage: ['CRONWORKFLOW... [-n NS] [--kubeconfig FILE] [--context CTX]'],
  description: `Has Argo's cron controller validate each named CronWorkflow again now that its WorkflowTemplate exists,
by annotating it (batchscore.dev/validated-with-template: the template's uid) unless it already names that template:
the controller leaves a CronWorkflow created before its template unscheduled for up to 20 minutes
(argo-workflows#12332). The Helm chart runs it as a post-install/post-upgrade hook, since Helm creates
CronWorkflows before WorkflowTemplates.`,
  options: {
    ...KUBE_OPTIONS,
    namespace: {
      ...KUBE_OPTIONS.namespace,
      help: "The CronWorkflows' namespace (default: the kubeconfig context's; in a pod, its own).",
    },
  },
});

export async function refreshSchedulesCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(REFRESH_SCHEDULES, argv);
  if (positionals.length === 0) throw new BatchscoreError('USAGE', 'refresh-schedules: name one CronWorkflow or more');
  const { kc, namespace } = kubeTarget(values, undefined);
  for (const r of await refreshSchedules(schedulesApi(kc, namespace), positionals))
    log().info(`cronworkflow ${r.name} in namespace ${namespace}: ${r.outcome}`);
}
