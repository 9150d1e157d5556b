import { openStore, type ScoringJob, type StoreFactory } from '@batchscore/core';

/** Stores for a job: S3 endpoint and path style from the job (or the AWS env vars); credentials only from the AWS chain. */
export function storeFactoryFor(job?: ScoringJob): StoreFactory {
  const s3 = job?.spec.storage.s3 ?? {};
  return (uri) => openStore(uri, { s3: { ...(s3.endpoint ? { endpoint: s3.endpoint } : {}), ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}) } });
}

/**
 * Pure: the environment that makes a child process given only a plan URI (`score --plan s3://…`) open it as this
 * job's stores are opened: the URI alone does not say which S3 endpoint holds it. The job's settings override
 * the parent's own env vars, as they do in storeFactoryFor.
 */
export function storageEnv(job: ScoringJob): Record<string, string> {
  const s3 = job.spec.storage.s3;
  return {
    ...(s3.endpoint ? { AWS_ENDPOINT_URL_S3: s3.endpoint } : {}),
    ...(s3.forcePathStyle !== undefined ? { BATCHSCORE_S3_FORCE_PATH_STYLE: s3.forcePathStyle ? '1' : '0' } : {}),
  };
}
