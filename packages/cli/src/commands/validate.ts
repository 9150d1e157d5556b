import { BatchscoreError, readJobFile } from '@batchscore/core';
import { parse } from '../args.js';

export const VALIDATE_HELP = `batchscore validate JOB.yaml
  Parses the job file and reports every problem at once; prints the resolved job as JSON.`;

export async function validateCommand(argv: string[]): Promise<void> {
  const { positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', `expected one job file\n${VALIDATE_HELP}`);
  const job = await readJobFile(positionals[0]!);
  process.stdout.write(JSON.stringify(job, null, 2) + '\n');
}
