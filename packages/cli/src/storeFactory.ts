import { openStore, type ScoringJob, type StoreFactory } from '@batchscore/core';

export { storageEnv } from '@batchscore/core';

/**
 * Stores for a job: S3 endpoint and path style from the job (or the AWS env vars); credentials only from the AWS chain.
 */
export function storeFactoryFor(job?: ScoringJob): StoreFactory {
  const s3 = job?.spec.storage.s3 ?? {};
  return (uri) =>
    openStore(uri, {
      s3: {
        ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
        ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}),
      },
    });
}
