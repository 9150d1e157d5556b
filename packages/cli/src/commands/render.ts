import { renderCronWorkflow, renderWorkflow, renderWorkflowTemplate, toYaml } from '@batchscore/coordinator';
import { BatchscoreError } from '@batchscore/core';
import { dateArg, namespaceArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';

export const RENDER_HELP = `batchscore render JOB.yaml [--date YYYY-MM-DD] [--kind workflow|workflowtemplate|cronworkflow] [--image IMG] [-n NS]
  Prints the Argo object as YAML: pipe it to \`kubectl create -f -\` or \`argo submit -\` (workflow, the default),
  or keep it in Git (workflowtemplate, cronworkflow). Needs s3:// URIs: pods cannot read this machine's disk.
  metadata.namespace is -n/--namespace, else spec.cluster.namespace, else left out (kubectl's -n then decides).
  Refuses a job that would put a secret in the YAML: a plain spec.notify.webhook URL, a URL with user:password@.`;

const KINDS = ['workflow', 'workflowtemplate', 'cronworkflow'] as const;

export async function renderCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { date: { type: 'string' }, kind: { type: 'string' }, image: { type: 'string' }, namespace: { type: 'string', short: 'n' }, 'job-json': { type: 'string' } },
  });
  const kind = (values.kind ?? 'workflow').toLowerCase();
  if (!(KINDS as readonly string[]).includes(kind)) throw new BatchscoreError('USAGE', `--kind ${JSON.stringify(values.kind)}: expected one of ${KINDS.join(', ')}`);
  if (values.date !== undefined && kind !== 'workflow') throw new BatchscoreError('USAGE', `--date applies to --kind workflow only; a ${kind} takes the date when it runs`);
  const date = dateArg(values.date);
  const job = await loadJob(values, positionals);
  const namespace = namespaceArg(values.namespace);
  const opts = { ...(values.image ? { image: values.image } : {}), ...(namespace ? { namespace } : {}) };
  const doc = kind === 'workflow' ? renderWorkflow(job, date, opts) : kind === 'workflowtemplate' ? renderWorkflowTemplate(job, opts) : renderCronWorkflow(job, opts);
  process.stdout.write(toYaml([doc]));
}
