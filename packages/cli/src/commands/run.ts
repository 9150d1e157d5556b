import { BatchscoreError, readJobFile } from '@batchscore/core';
import { dateArg, intArg, parse } from '../args.js';
import { runLocal } from '../runLocal.js';
import { printSummary } from '../summary.js';
import { lineLog } from '../log.js';
import { reportRun } from '../observe.js';

export const RUN_HELP = `batchscore run JOB.yaml --local [--date YYYY-MM-DD] [--workers N] [--force]
  Runs plan → score (N worker processes, default: the number of cores) → merge on this machine.
  A run already complete for the same model is left alone; --force rescores it.`;

export async function runCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      local: { type: 'boolean' },
      date: { type: 'string' },
      workers: { type: 'string' },
      force: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', `expected one job file\n${RUN_HELP}`);
  if (!values.local) {
    throw new BatchscoreError(
      'USAGE',
      'batchscore run needs --local (on a cluster, render the Argo Workflow and submit it)',
    );
  }
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
  printSummary(result.manifest, result.manifestUri, result.alreadyComplete);
}
