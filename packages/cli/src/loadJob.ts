import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BatchscoreError, parseJobSpec, readJobFile, type ScoringJob } from '@batchscore/core';

/**
 * The job comes from a file (users, and pods, which mount the job's ConfigMap) or inline as JSON (`--job-json`,
 * a self-contained Workflow's `job` parameter, with every URI already absolute). Either way it is parsed and
 * checked here, once.
 */
export async function loadJob(values: { 'job-json'?: string }, positionals: string[]): Promise<ScoringJob> {
  return (await loadJobText(values, positionals)).job;
}

/** The job and its text as written (what `render --kind configmap` puts in the job's ConfigMap). */
export async function loadJobText(values: { 'job-json'?: string }, positionals: string[]): Promise<{ job: ScoringJob; text: string; source: string }> {
  const inline = values['job-json'];
  if (inline !== undefined) {
    if (positionals.length > 0) throw new BatchscoreError('USAGE', 'give the job either as a file or with --job-json, not both');
    return { job: parseJobSpec(inline, { baseDir: process.cwd(), source: '--job-json' }), text: inline, source: '--job-json' };
  }
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', 'expected one job file (or --job-json)');
  const file = positionals[0]!;
  const job = await readJobFile(file);
  // Read again only once the job parsed (readJobFile says what is wrong with a file it cannot read).
  const text = await readFile(file, 'utf8');
  return { job, text, source: path.resolve(file) };
}
