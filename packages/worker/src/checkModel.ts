import { BatchscoreError, fetchModel, openObject, type ScoringJob, type StoreFactory } from '@batchscore/core';
import { checkModelBinding } from './checkModelBinding.js';
import { createModelSession } from './loadModel.js';

/**
 * The model problems a worker would fail on, every one of them: opens the model on the CPU (one thread; a device
 * is the worker's concern, and a validating machine may have no GPU) and checks the job's binding against it.
 * The file must exist (see checkModelFile). A model that will not load is one problem line.
 */
export async function checkModel(job: ScoringJob, open: StoreFactory): Promise<string[]> {
  const { store, key } = openObject(open, job.spec.model.uri);
  let session: Awaited<ReturnType<typeof createModelSession>>['session'];
  let zipMaps: Awaited<ReturnType<typeof createModelSession>>['zipMaps'];
  try {
    const fetched = await fetchModel(store, key, job.spec.model.uri);
    ({ session, zipMaps } = await createModelSession(fetched, job, { device: 'cpu', threads: 1 }));
  } catch (err) {
    if (err instanceof BatchscoreError && err.code === 'MODEL_INVALID') return err.message.split('\n');
    throw err;
  }
  try {
    return checkModelBinding(job, session.inputMetadata, session.outputMetadata, zipMaps).problems;
  } finally {
    await session.release();
  }
}
