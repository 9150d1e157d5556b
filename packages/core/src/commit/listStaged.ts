import { stagingDir, type RunKey } from '../keys.js';
import type { ObjectStore } from '../store/ObjectStore.js';

/** An object in an attempt's folder: a staged part, or the attempt's claim. */
export interface StagedObject {
  key: string;
  size: number;
  shard: number;
  attempt: number;
}

const ATTEMPT_OBJECT = /shards\/(\d+)\/attempt-(\d+)\//;

/**
 * Everything the run's attempts left in staging, with one listing (1,000 keys a request on S3) instead of a HEAD
 * per part: merge checks each committed part's size against it, and removes it all once the manifest is written.
 * Commit records (`shards/S/_commit.json`) are not in it: they stay, to say which attempt was published.
 */
export async function listStaged(store: ObjectStore, run: RunKey): Promise<StagedObject[]> {
  const out: StagedObject[] = [];
  for (const o of await store.list(stagingDir(run) + 'shards/')) {
    const m = ATTEMPT_OBJECT.exec(o.key);
    if (m) out.push({ key: o.key, size: o.size, shard: Number(m[1]), attempt: Number(m[2]) });
  }
  return out;
}
