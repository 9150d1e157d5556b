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
import { choiceArg, dateArg, namespaceArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { loadJobText } from '../loadJob.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { printObjects } from '../printObjects.js';

export const RENDER = defineCommand({
  name: 'render',
  summary: "Prints the job's Kubernetes objects (ConfigMap, WorkflowTemplate, CronWorkflow, Workflow) as YAML or JSON.",
  usage: [
    '(JOB.yaml | --job-json JSON) [--kind all|configmap|workflowtemplate|cronworkflow|workflow] ' +
      '[--date YYYY-MM-DD] [--from-template] [--image IMG] [-n NS] [-o yaml|json]',
    '--kind backfill-template [-n NS] [-o yaml|json]',
  ],
  description: `Prints the job's objects for the cluster, for \`kubectl apply -f -\` or Git:
  all (the default)  the job's ConfigMap, its WorkflowTemplate and, with spec.cluster.schedule, its CronWorkflow
  configmap          batchscore-job-NAME: the job as written; the pods read it from there
  workflowtemplate   batchscore-NAME: the plan, score and merge pods
  cronworkflow       the schedule, referencing the WorkflowTemplate
  workflow           one date (--date, default today): with --from-template a Workflow referencing the installed
                     WorkflowTemplate (for \`kubectl create -f -\`, also under templateReferencing: Strict);
                     without, a self-contained Workflow that needs nothing installed
  backfill-template  the generic batchscore-backfill WorkflowTemplate that \`batchscore backfill\` runs, with its
                     ServiceAccount and Role (create and watch Workflows); install it once per namespace
Needs s3:// URIs: pods cannot read this machine's disk. Refuses a job that would put a secret in the cluster's
objects: a plain spec.notify.webhook URL, a URL with user:password@.`,
  options: {
    kind: {
      type: 'string',
      value: 'KIND',
      help: 'Which objects: all, configmap, workflowtemplate, cronworkflow, workflow or backfill-template.',
    },
    'job-json': { type: 'string', value: 'JSON', help: 'The job inline, instead of a file.' },
    date: {
      type: 'string',
      value: 'YYYY-MM-DD',
      help: "The Workflow's date (default: today, UTC); implies --kind workflow.",
    },
    'from-template': {
      type: 'boolean',
      help: 'A Workflow that references the installed WorkflowTemplate; implies --kind workflow.',
    },
    image: { type: 'string', value: 'IMG', help: 'The worker image, instead of spec.cluster.image or the default.' },
    namespace: {
      type: 'string',
      short: 'n',
      value: 'NS',
      help: "metadata.namespace (default: spec.cluster.namespace, else none: kubectl's -n then decides).",
    },
    ...outputOption(['yaml', 'json'], 'YAML documents (the default) or JSON (one object, or a List).'),
  },
});

const KINDS = ['all', 'configmap', 'workflowtemplate', 'cronworkflow', 'workflow', 'backfill-template'] as const;

export async function renderCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(RENDER, argv);
  const format = outputFormat(values.output, ['yaml', 'json']) ?? 'yaml';
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
    printObjects([...renderBackfillRbac(ns), renderBackfillTemplate(ns)], format);
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
  printObjects(docs, format);
}
