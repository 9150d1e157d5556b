import { writeFile } from 'node:fs/promises';
import { createPlan, isRunComplete, writePlan } from '@batchscore/coordinator';
import { BatchscoreError } from '@batchscore/core';
import { dateArg, intArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';
import { OUTPUT_OPTION, outputFormat, printOutput } from '../outputFormat.js';
import { storeFactoryFor } from '../storeFactory.js';
import { podCount } from '../strides.js';

export const PLAN_HELP = `batchscore plan (JOB.yaml | --job-json JSON) [--date YYYY-MM-DD] [--skip-complete] [--complete-file FILE] [--shard-count-file FILE] [--pod-count-file FILE [--max-pods M]] [--force] [-o json|yaml]
  Lists the input, reads Parquet footers, writes the shard plan to the output's _batchscore/ folder.
  Prints {"plan": URI, "shards": N, "rows": R, "runId": ID} on stdout, one JSON line (-o/--output json, the
  default) or YAML (-o yaml); --shard-count-file also writes N to FILE (for Argo outputs).
  --pod-count-file writes the number of score pods, min(N, M) (M: --max-pods, default N), to FILE: the
  Workflow fans out over that many pods, each scoring a stride of shards (score --pod I --pods P).
  --skip-complete (or --skip-complete=true|false, as Argo passes a parameter): when the date is already
  published for this model (version and sha256), plan nothing and print {"complete": true}; --complete-file
  writes true or false to FILE (the Workflow then skips score and merge).`;

export async function planCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: skipCompleteArgs(argv),
    allowPositionals: true,
    strict: true,
    options: {
      ...OUTPUT_OPTION,
      date: { type: 'string' },
      'shard-count-file': { type: 'string' },
      'pod-count-file': { type: 'string' },
      'max-pods': { type: 'string' },
      'job-json': { type: 'string' },
      force: { type: 'boolean' },
      'skip-complete': { type: 'boolean' },
      'complete-file': { type: 'string' },
    },
  });
  const format = outputFormat(values.output); // before any work: a bad -o must not leave a plan behind
  const date = dateArg(values.date);
  const maxPods = intArg('max-pods', values['max-pods'], 1);
  if (maxPods !== undefined && !values['pod-count-file'])
    throw new BatchscoreError(
      'USAGE',
      `--max-pods caps the pod count that --pod-count-file writes; give --pod-count-file FILE too\n${PLAN_HELP}`,
    );
  const job = await loadJob(values, positionals);
  const open = storeFactoryFor(job);
  const counts = async (shards: number, complete: boolean) => {
    if (values['shard-count-file']) await writeFile(values['shard-count-file'], String(shards));
    if (values['pod-count-file']) await writeFile(values['pod-count-file'], String(podCount(shards, maxPods)));
    if (values['complete-file']) await writeFile(values['complete-file'], String(complete));
  };
  if (values['skip-complete'] && (await isRunComplete(job, date, open))) {
    await counts(0, true);
    printOutput({ complete: true, date, modelVersion: job.spec.model.version }, format);
    return;
  }
  const plan = await createPlan(job, date, open);
  const uri = await writePlan(open(job.spec.output.uri), plan, { force: values.force ?? false });
  await counts(plan.shards.length, false);
  printOutput({ plan: uri, shards: plan.shards.length, rows: plan.totalRows, runId: plan.runId }, format);
}

/**
 * `--skip-complete=true|false` → the boolean flag or nothing: an Argo template passes its skip-complete parameter
 * this way, and node's parseArgs takes no value for a boolean.
 */
export function skipCompleteArgs(argv: string[]): string[] {
  return argv.flatMap((a) => {
    const m = /^--skip-complete=(.*)$/.exec(a);
    if (!m) return [a];
    if (m[1] === 'true') return ['--skip-complete'];
    if (m[1] === 'false') return [];
    throw new BatchscoreError('USAGE', `--skip-complete=${m[1]}: expected true or false (or --skip-complete alone)`);
  });
}
