import { writeFile } from 'node:fs/promises';
import { createPlan, writePlan } from '@batchscore/coordinator';
import { BatchscoreError, readJobFile } from '@batchscore/core';
import { dateArg, parse } from '../args.js';
import { storeFactoryFor } from '../storeFactory.js';

export const PLAN_HELP = `batchscore plan JOB.yaml [--date YYYY-MM-DD] [--shard-count-file FILE]
  Lists the input, reads Parquet footers, writes the shard plan to the output's _batchscore/ folder.
  Prints {"plan": URI, "shards": N} on stdout; --shard-count-file also writes N to FILE (for Argo outputs).`;

export async function planCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: { date: { type: 'string' }, 'shard-count-file': { type: 'string' } } });
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', `expected one job file\n${PLAN_HELP}`);
  const job = await readJobFile(positionals[0]!);
  const open = storeFactoryFor(job);
  const plan = await createPlan(job, dateArg(values.date), open);
  const uri = await writePlan(open(job.spec.output.uri), plan);
  if (values['shard-count-file']) await writeFile(values['shard-count-file'], String(plan.shards.length));
  process.stdout.write(JSON.stringify({ plan: uri, shards: plan.shards.length, rows: plan.totalRows, runId: plan.runId }) + '\n');
}
