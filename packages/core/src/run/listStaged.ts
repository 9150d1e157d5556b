import { stagingDir } from '../keys.js';
import type { RunKey } from './runKey.js';
import type { ObjectStore } from '../store/ObjectStore.js';

/**
 * An object the attempts at a shard left: in an attempt's folder (a staged file, the attempt's claim or end record),
 * or a part's record (`attempt` 0: it belongs to no attempt's folder; the part names its attempt).
 */
export interface StagedObject {
  key: string;
  size: number;
  shard: number;
  attempt: number;
}

const ATTEMPT_OBJECT = /shards\/(\d+)\/attempt-(\d+)\//;
const PART_RECORD = /shards\/(\d+)\/parts\//;

/**
 * Everything the run's attempts left in staging, with one listing (1,000 keys a request on S3) instead of a HEAD
 * per part: merge checks each committed part's size against it, and removes it all once the manifest is written.
 * Shard commits (`shards/S/_commit.json`) are not in it: they stay, to say which parts and attempts were published.
 */
export async function listStaged(store: ObjectStore, run: RunKey): Promise<StagedObject[]> {
  const out: StagedObject[] = [];
  for (const o of await store.list(stagingDir(run) + 'shards/')) {
    const m = ATTEMPT_OBJECT.exec(o.key);
    if (m) out.push({ key: o.key, size: o.size, shard: Number(m[1]), attempt: Number(m[2]) });
    const p = m ? null : PART_RECORD.exec(o.key);
    if (p) out.push({ key: o.key, size: o.size, shard: Number(p[1]), attempt: 0 });
  }
  return out;
}
