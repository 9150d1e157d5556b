import type { ScoringJob } from './spec.js';
import type { ObjectStore } from './store/ObjectStore.js';

/** Opens a store rooted at a folder URI. Commands build one from env and the job's storage options. */
export type StoreFactory = (folderUri: string) => ObjectStore;

/** Splits an object URI into its folder (with trailing '/') and the object's name. */
export function splitObjectUri(uri: string): { dir: string; name: string } {
  const i = uri.lastIndexOf('/');
  return { dir: uri.slice(0, i + 1), name: uri.slice(i + 1) };
}

export function openObject(open: StoreFactory, uri: string): { store: ObjectStore; key: string } {
  const { dir, name } = splitObjectUri(uri);
  return { store: open(dir), key: name };
}

/**
 * Pure: the environment that makes a child process (or a pod) given only a plan URI (`score --plan s3://…`) open it as
 * this job's stores are opened: the URI alone does not say which S3 endpoint holds it. The job's settings override
 * the parent's own env vars, as they do in storeFactoryFor.
 */
export function storageEnv(job: ScoringJob): Record<string, string> {
  const s3 = job.spec.storage.s3;
  return {
    ...(s3.endpoint ? { AWS_ENDPOINT_URL_S3: s3.endpoint } : {}),
    ...(s3.forcePathStyle !== undefined ? { BATCHSCORE_S3_FORCE_PATH_STYLE: s3.forcePathStyle ? '1' : '0' } : {}),
  };
}
