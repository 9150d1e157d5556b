import {
  renderBackfillRbac,
  renderBackfillTemplate,
  renderCronWorkflow,
  renderJobConfigMap,
  renderWorkflow,
  renderWorkflowFromTemplate,
  renderWorkflowTemplate,
} from '@batchscore/coordinator';
import { BatchscoreError } from '@batchscore/core';
import { choiceArg, dateArg, namespaceArg, parse } from '../args.js';
import { loadJobText } from '../loadJob.js';
import { OUTPUT_OPTION, outputFormat } from '../outputFormat.js';
import { printObjects } from '../printObjects.js';

export const RENDER_HELP = `batchscore render JOB.yaml [--kind all|configmap|workflowtemplate|cronworkflow|workflow] [--date YYYY-MM-DD] [--from-template] [--image IMG] [-n NS] [-o yaml|json]
  Prints the job's objects for the cluster (yaml, the default, or json), for \`kubectl apply -f -\` or Git:
    all (the default)  the job's ConfigMap, its WorkflowTemplate and, with spec.cluster.schedule, its CronWorkflow
    configmap          batchscore-job-NAME: the job as written; the pods read it from there
    workflowtemplate   batchscore-NAME (the plan, score and merge pods; changes only with spec.cluster)
    cronworkflow       the schedule, referencing the WorkflowTemplate
    workflow           one date (--date, default today): with --from-template a Workflow referencing the installed
                       WorkflowTemplate (for \`kubectl create -f -\`, also under templateReferencing: Strict);
                       without, a self-contained Workflow that needs nothing installed
batchscore render --kind backfill-template [-n NS] [-o yaml|json]
  Prints the generic batchscore-backfill WorkflowTemplate that \`batchscore backfill\` runs on the cluster, with its
  ServiceAccount and Role (create and watch Workflows). Install it once per namespace.
  Needs s3:// URIs: pods cannot read this machine's disk. metadata.namespace is -n/--namespace, else
  spec.cluster.namespace, else left out (kubectl's -n then decides). Refuses a job that would put a secret in the
  cluster's objects: a plain spec.notify.webhook URL, a URL with user:password@.`;

const KINDS = ['all', 'configmap', 'workflowtemplate', 'cronworkflow', 'workflow', 'backfill-template'] as const;

export async function renderCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      date: { type: 'string' },
      kind: { type: 'string' },
      image: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'job-json': { type: 'string' },
      'from-template': { type: 'boolean' },
      ...OUTPUT_OPTION,
    },
  });
  // --date alone means one date's Workflow, as before there were other kinds.
  const kind = choiceArg(
    '--kind',
    (values.kind ?? (values.date !== undefined || values['from-template'] ? 'workflow' : 'all')).toLowerCase(),
    KINDS,
  )!;
  if (values.date !== undefined && kind !== 'workflow')
    throw new BatchscoreError('USAGE', `--date applies to --kind workflow only; a ${kind} takes the date when it runs`);
  if (values['from-template'] && kind !== 'workflow')
    throw new BatchscoreError('USAGE', `--from-template applies to --kind workflow only`);
  const namespace = namespaceArg(values.namespace);
  if (kind === 'backfill-template') {
    if (positionals.length > 0 || values['job-json'] !== undefined)
      throw new BatchscoreError('USAGE', '--kind backfill-template is the same for every job: give no job');
    const ns = namespace ? { namespace } : {};
    printObjects([...renderBackfillRbac(ns), renderBackfillTemplate(ns)], outputFormat(values.output, 'yaml'));
    return;
  }
  const date = dateArg(values.date);
  const { job, text } = await loadJobText(values, positionals);
  const opts = { ...(values.image ? { image: values.image } : {}), ...(namespace ? { namespace } : {}) };
  const configMap = () => renderJobConfigMap(job, text, opts);
  const template = () => renderWorkflowTemplate(job, opts);
  const cron = () => renderCronWorkflow(job, opts);
  const byKind: Record<string, () => unknown[]> = {
    workflow: () => [
      values['from-template'] ? renderWorkflowFromTemplate(job, date, opts) : renderWorkflow(job, date, opts),
    ],
    configmap: () => [configMap()],
    workflowtemplate: () => [template()],
    cronworkflow: () => [cron()],
    all: () => [configMap(), template(), ...(job.spec.cluster.schedule ? [cron()] : [])],
  };
  const docs = byKind[kind]!();
  printObjects(docs, outputFormat(values.output, 'yaml'));
}
