import { BatchscoreError, parseJobSpec, readJobFile, type ScoringJob } from '@batchscore/core';

/**
 * The job comes from a file (users) or inline as JSON (`--job-json`, what the rendered Argo pods are given,
 * with every URI already absolute). Either way it is parsed and checked here, once.
 */
export async function loadJob(values: { 'job-json'?: string }, positionals: string[]): Promise<ScoringJob> {
  const inline = values['job-json'];
  if (inline !== undefined) {
    if (positionals.length > 0) throw new BatchscoreError('USAGE', 'give the job either as a file or with --job-json, not both');
    return parseJobSpec(inline, { baseDir: process.cwd(), source: '--job-json' });
  }
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', 'expected one job file (or --job-json)');
  return readJobFile(positionals[0]!);
}
