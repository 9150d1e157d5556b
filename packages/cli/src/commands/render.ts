import { renderCronWorkflow, renderWorkflow, renderWorkflowTemplate, toYaml } from '@batchscore/coordinator';
import { BatchscoreError } from '@batchscore/core';
import { dateArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';

export const RENDER_HELP = `batchscore render JOB.yaml [--date YYYY-MM-DD] [--kind workflow|workflowtemplate|cronworkflow] [--image IMG]
  Prints the Argo object as YAML: pipe it to \`kubectl create -f -\` or \`argo submit -\` (workflow, the default),
  or keep it in Git (workflowtemplate, cronworkflow). Needs s3:// URIs: pods cannot read this machine's disk.`;

const KINDS = ['workflow', 'workflowtemplate', 'cronworkflow'] as const;

export async function renderCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { date: { type: 'string' }, kind: { type: 'string' }, image: { type: 'string' }, 'job-json': { type: 'string' } },
  });
  const kind = (values.kind ?? 'workflow').toLowerCase();
  if (!(KINDS as readonly string[]).includes(kind)) throw new BatchscoreError('USAGE', `--kind ${JSON.stringify(values.kind)}: expected one of ${KINDS.join(', ')}`);
  if (values.date !== undefined && kind !== 'workflow') throw new BatchscoreError('USAGE', `--date applies to --kind workflow only; a ${kind} takes the date when it runs`);
  const date = dateArg(values.date);
  const job = await loadJob(values, positionals);
  const opts = values.image ? { image: values.image } : {};
  const doc = kind === 'workflow' ? renderWorkflow(job, date, opts) : kind === 'workflowtemplate' ? renderWorkflowTemplate(job, opts) : renderCronWorkflow(job);
  process.stdout.write(toYaml([doc]));
}
