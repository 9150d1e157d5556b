import { writeFile } from 'node:fs/promises';
import { createPlan, writePlan } from '@batchscore/coordinator';
import { dateArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';
import { storeFactoryFor } from '../storeFactory.js';

export const PLAN_HELP = `batchscore plan (JOB.yaml | --job-json JSON) [--date YYYY-MM-DD] [--shard-count-file FILE]
  Lists the input, reads Parquet footers, writes the shard plan to the output's _batchscore/ folder.
  Prints {"plan": URI, "shards": N} on stdout; --shard-count-file also writes N to FILE (for Argo outputs).`;

export async function planCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: { date: { type: 'string' }, 'shard-count-file': { type: 'string' }, 'job-json': { type: 'string' }, force: { type: 'boolean' } } });
  const date = dateArg(values.date);
  const job = await loadJob(values, positionals);
  const open = storeFactoryFor(job);
  const plan = await createPlan(job, date, open);
  const uri = await writePlan(open(job.spec.output.uri), plan, { force: values.force ?? false });
  if (values['shard-count-file']) await writeFile(values['shard-count-file'], String(plan.shards.length));
  process.stdout.write(JSON.stringify({ plan: uri, shards: plan.shards.length, rows: plan.totalRows, runId: plan.runId }) + '\n');
}
