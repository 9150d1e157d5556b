import { BatchscoreError, parseJobSpec, readJobDocument, type ScoringJob } from '@batchscore/core';

/**
 * The job comes from a file (users, and pods, which mount the job's ConfigMap) or inline as JSON (`--job-json`,
 * a self-contained Workflow's `job` parameter, with every URI already absolute). Either way it is parsed and
 * checked here, once.
 */
export async function loadJob(values: { 'job-json'?: string }, positionals: string[]): Promise<ScoringJob> {
  return (await loadJobText(values, positionals)).job;
}

/** The job and its text as written (what `render --kind configmap` puts in the job's ConfigMap). */
export async function loadJobText(
  values: { 'job-json'?: string },
  positionals: string[],
): Promise<{ job: ScoringJob; text: string }> {
  const inline = values['job-json'];
  if (inline !== undefined) {
    if (positionals.length > 0)
      throw new BatchscoreError('USAGE', 'give the job either as a file or with --job-json, not both');
    return { job: parseJobSpec(inline, { baseDir: process.cwd(), source: '--job-json' }), text: inline };
  }
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', 'expected one job file (or --job-json)');
  return readJobDocument(positionals[0]!);
}
