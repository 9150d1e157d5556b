import { mergeRun } from '@batchscore/merge';
import { defineCommand, parseCommand } from '../command.js';
import { locateWholePlan } from '../locatePlan.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { printSummary } from '../summary.js';
import { reportRun } from '../observe.js';

export const MERGE = defineCommand({
  name: 'merge',
  summary: 'Verifies a scored run and publishes it: the parts in their final layout, then _batch_manifest.json.',
  usage: ['(--plan URI | JOB.yaml --date YYYY-MM-DD | --job-json JSON --date YYYY-MM-DD) [--force] [-o json|yaml]'],
  description: `Checks that every shard committed and that rows in = rows out, lays out the parts, writes
_batch_manifest.json last and prints a summary of the run. Merging a complete run again changes nothing.
Before every shard has committed it exits 66 (not complete yet) and publishes nothing.`,
  options: {
    plan: { type: 'string', value: 'URI', help: "The run's plan.json, as plan prints it." },
    'job-json': { type: 'string', value: 'JSON', help: 'The job inline, instead of a file.' },
    date: { type: 'string', value: 'YYYY-MM-DD', help: "The run's date, with the job (default: today, UTC)." },
    force: { type: 'boolean', help: 'Replace a complete run of another model under the same version.' },
    ...outputOption(['json', 'yaml'], "Print the run's summary as a record (manifest, rows, shards, output)."),
  },
});

export async function mergeCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(MERGE, argv);
  const format = outputFormat(values.output, ['json', 'yaml']);
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
  printSummary(r.manifest, r.manifestUri, r.alreadyComplete, format);
}
