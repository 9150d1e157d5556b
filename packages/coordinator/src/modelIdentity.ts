import { hashModel, openObject, type ModelIdentity, type ScoringJob, type StoreFactory } from '@batchscore/core';

/**
 * Every byte of the job's model (its file and the external data files beside it), read from where the job says it
 * is, as a plan records it: what a run id and "complete for this model" compare (modelId of it).
 */
export async function modelIdentity(job: ScoringJob, open: StoreFactory): Promise<ModelIdentity> {
  const { store, key } = openObject(open, job.spec.model.uri);
  return hashModel(store, key, job.spec.model.uri);
}
