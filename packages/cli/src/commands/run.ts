import { BatchscoreError, readJobFile } from '@batchscore/core';
import { dateArg, intArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { runLocal } from '../local/runLocal.js';
import { printSummary } from '../summary.js';
import { lineLog } from '../log.js';
import { reportRun } from '../observe.js';
import { outputFormat, outputOption } from '../outputFormat.js';

export const RUN = defineCommand({
  name: 'run',
  summary: 'Scores one date on this machine: plan, score with worker processes, merge.',
  usage: ['JOB.yaml --local [--date YYYY-MM-DD] [--workers N] [--force] [-o json|yaml]'],
  description: `Runs plan → score (worker processes) → merge on this machine and prints a summary of the run.
A run already complete for the same model is left alone; --force rescores it.`,
  options: {
    local: { type: 'boolean', help: 'Required: run here (on a cluster, submit a Workflow instead).' },
    date: { type: 'string', value: 'YYYY-MM-DD', help: "The run's date (default: today, UTC)." },
    workers: {
      type: 'string',
      value: 'N',
      help:
        'Worker processes (default: chosen from the model: one worker a core, or one worker with a thread a core ' +
        'for a heavy model).',
    },
    force: { type: 'boolean', help: 'Rescore a date already complete for this model.' },
    ...outputOption(['json', 'yaml'], "Print the run's summary as a record (manifest, rows, shards, output)."),
  },
});

export async function runCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(RUN, argv);
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', 'expected one job file');
  if (!values.local) {
    throw new BatchscoreError(
      'USAGE',
      'batchscore run needs --local (on a cluster, render the Argo Workflow and submit it)',
    );
  }
  const format = outputFormat(values.output, ['json', 'yaml']);
  const date = dateArg(values.date);
  const workers = intArg('workers', values.workers, 1);
  const job = await readJobFile(positionals[0]!);
  let result: Awaited<ReturnType<typeof runLocal>>;
  try {
    result = await runLocal(job, {
      date,
      ...(workers ? { workers } : {}),
      force: values.force ?? false,
      progress: true,
      log: lineLog(),
    });
  } catch (error) {
    await reportRun(job, date, { error }, { merged: true, notify: true });
    throw error;
  }
  await reportRun(job, date, result, { merged: true, notify: true });
  printSummary(result.manifest, result.manifestUri, result.alreadyComplete, format);
}
