import { mergeRun } from '@batchscore/merge';
import { parse } from '../args.js';
import { locatePlan } from '../locatePlan.js';
import { printSummary } from '../summary.js';

export const MERGE_HELP = `batchscore merge (--plan URI | JOB.yaml --date | --job-json JSON --date YYYY-MM-DD) [--force]
  Checks every shard committed and rows in = rows out, lays out the parts, writes _batch_manifest.json last.`;

export async function mergeCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: { plan: { type: 'string' }, 'job-json': { type: 'string' }, date: { type: 'string' }, force: { type: 'boolean' } } });
  const { plan, open } = await locatePlan(values, positionals);
  const r = await mergeRun(plan, open, { force: values.force ?? false });
  printSummary(r.manifest, r.manifestUri, r.alreadyComplete);
}
