import {
  manifestKey,
  openObject,
  readJsonIfExists,
  sha256Of,
  type BatchManifest,
  type ScoringJob,
  type StoreFactory,
} from '@batchscore/core';

/**
 * Whether `date` is already published for this job's model: a complete manifest for the same model version and the
 * same model bytes (sha256). What `--skip-complete` skips; a new model under an old version name is run again.
 * `sha256` may be given when many dates are checked against one model.
 */
export async function isRunComplete(
  job: ScoringJob,
  date: string,
  open: StoreFactory,
  sha256?: string,
): Promise<boolean> {
  const out = open(job.spec.output.uri);
  const m = await readJsonIfExists<BatchManifest>(
    out,
    manifestKey({ batchDate: date, modelVersion: job.spec.model.version }),
  );
  if (m?.status !== 'complete') return false;
  return m.model.sha256 === (sha256 ?? (await modelSha256(job, open)));
}

export async function modelSha256(job: ScoringJob, open: StoreFactory): Promise<string> {
  const model = openObject(open, job.spec.model.uri);
  return (await sha256Of(model.store, model.key)).sha256;
}
