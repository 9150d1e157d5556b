import { writeFile } from 'node:fs/promises';
import { createPlan, writePlan } from '@batchscore/coordinator';
import { BatchscoreError } from '@batchscore/core';
import { dateArg, intArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';
import { OUTPUT_OPTION, outputFormat, printOutput } from '../outputFormat.js';
import { storeFactoryFor } from '../storeFactory.js';
import { podCount } from '../strides.js';

export const PLAN_HELP = `batchscore plan (JOB.yaml | --job-json JSON) [--date YYYY-MM-DD] [--shard-count-file FILE] [--pod-count-file FILE [--max-pods M]] [-o json|yaml]
  Lists the input, reads Parquet footers, writes the shard plan to the output's _batchscore/ folder.
  Prints {"plan": URI, "shards": N, "rows": R, "runId": ID} on stdout, one JSON line (-o/--output json, the
  default) or YAML (-o yaml); --shard-count-file also writes N to FILE (for Argo outputs).
  --pod-count-file writes the number of score pods, min(N, M) (M: --max-pods, default N), to FILE: the
  Workflow fans out over that many pods, each scoring a stride of shards (score --pod I --pods P).`;

export async function planCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: { ...OUTPUT_OPTION, date: { type: 'string' }, 'shard-count-file': { type: 'string' }, 'pod-count-file': { type: 'string' }, 'max-pods': { type: 'string' }, 'job-json': { type: 'string' }, force: { type: 'boolean' } } });
  const format = outputFormat(values.output); // before any work: a bad -o must not leave a plan behind
  const date = dateArg(values.date);
  const maxPods = intArg('max-pods', values['max-pods'], 1);
  if (maxPods !== undefined && !values['pod-count-file']) throw new BatchscoreError('USAGE', `--max-pods caps the pod count that --pod-count-file writes; give --pod-count-file FILE too\n${PLAN_HELP}`);
  const job = await loadJob(values, positionals);
  const open = storeFactoryFor(job);
  const plan = await createPlan(job, date, open);
  const uri = await writePlan(open(job.spec.output.uri), plan, { force: values.force ?? false });
  if (values['shard-count-file']) await writeFile(values['shard-count-file'], String(plan.shards.length));
  if (values['pod-count-file']) await writeFile(values['pod-count-file'], String(podCount(plan.shards.length, maxPods)));
  printOutput({ plan: uri, shards: plan.shards.length, rows: plan.totalRows, runId: plan.runId }, format);
}
