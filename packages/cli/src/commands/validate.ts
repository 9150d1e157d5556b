import { BatchscoreError, readJobFile, type ScoringJob, type StoreFactory } from '@batchscore/core';
import { CHECKED_INPUT_FILES, checkInput, checkModelFile } from '@batchscore/coordinator';
import { dateArg, parse } from '../args.js';
import { storeFactoryFor } from '../storeFactory.js';

export const VALIDATE_HELP = `batchscore validate JOB.yaml [--date YYYY-MM-DD] [--offline]
  Parses the job file, opens the model, and reads the footers (CSV: header lines) of the first ${CHECKED_INPUT_FILES} input files
  for the date (default today, UTC); reports every problem the run would fail on at once, then prints the resolved
  job as JSON. --offline checks the job file alone and reads no model or data.`;

export async function validateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: { date: { type: 'string' }, offline: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', `expected one job file\n${VALIDATE_HELP}`);
  const date = dateArg(values.date);
  const job = await readJobFile(positionals[0]!);
  if (!values.offline) {
    const open = storeFactoryFor(job);
    const [inputProblems, modelProblems] = await Promise.all([checkInput(job, date, open), modelProblemsOf(job, open)]);
    // In the run's order (plan, then workers). One code for the whole report: every line is a way this job cannot
    // run as written, none is worth a retry (exit 65), and a script needs one code to act on, not one per line.
    const problems = [...inputProblems, ...modelProblems];
    if (problems.length > 0) throw new BatchscoreError('SPEC_INVALID', problems.join('\n'));
  }
  process.stdout.write(JSON.stringify(job, null, 2) + '\n');
}

async function modelProblemsOf(job: ScoringJob, open: StoreFactory): Promise<string[]> {
  const missing = await checkModelFile(open, job.spec.model.uri);
  if (missing.length > 0) return missing;
  // onnxruntime loads only when the model is to be opened, not for --offline.
  const { checkModel } = await import('@batchscore/worker');
  return checkModel(job, open);
}
