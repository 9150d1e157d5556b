import { readJsonIfExists } from '../json.js';
import { commitKey } from '../keys.js';
import type { RunKey } from './runKey.js';
import type { ShardCommit } from './records.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import { ownedBy, type CommitOwner } from './records.js';

/** The shard's commit record when there is one for this run and plan (one GET), else undefined. */
export async function readCommit(
  store: ObjectStore,
  run: RunKey,
  shard: number,
  owner: CommitOwner,
): Promise<ShardCommit | undefined> {
  const c = await readJsonIfExists<ShardCommit>(store, commitKey(run, shard));
  return ownedBy(c, owner) ? c : undefined;
}
