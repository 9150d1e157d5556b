import { mergeRun } from '@batchscore/merge';
import { parse } from '../args.js';
import { locateWholePlan } from '../locatePlan.js';
import { printSummary } from '../summary.js';
import { reportRun } from '../observe.js';

export const MERGE_HELP = `batchscore merge (--plan URI | JOB.yaml --date | --job-json JSON --date YYYY-MM-DD) [--force]
  Checks every shard committed and rows in = rows out, lays out the parts, writes _batch_manifest.json last.`;

export async function mergeCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      plan: { type: 'string' },
      'job-json': { type: 'string' },
      date: { type: 'string' },
      force: { type: 'boolean' },
    },
  });
  const { plan, open } = await locateWholePlan(values, positionals);
  let r: Awaited<ReturnType<typeof mergeRun>>;
  try {
    r = await mergeRun(plan, open, { force: values.force ?? false });
  } catch (error) {
    // On a cluster the Workflow's exit handler sends the notification, so merge only reports metrics.
    await reportRun(plan.job, plan.batchDate, { error }, { merged: true, notify: false });
    throw error;
  }
  await reportRun(plan.job, plan.batchDate, r, { merged: true, notify: false });
  printSummary(r.manifest, r.manifestUri, r.alreadyComplete);
}
