import { readJsonIfExists } from '../json.js';
import { manifestKey, shardDir, type RunKey } from '../keys.js';
import type { ShardCommit } from '../plan.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import type { CommitOwner } from './CommitOwner.js';
import { readCommit } from './readCommit.js';

/**
 * The shard's commit when it belongs to this plan and every part it lists is still there with its size: then the
 * shard need not be scored again (a rerun after a crash, an Argo retry). Its parts are checked with one listing of
 * the shard's folder rather than a HEAD each. Parts that left staging count when this run's manifest is there:
 * merge published them (a pod retried after the merge, a rerun of a complete run's stage); without that check such a
 * shard was scored again for nothing, its parts then orphaned, since its commit record wins (writeCommit).
 */
export async function findCommitted(
  store: ObjectStore,
  run: RunKey,
  shard: number,
  owner: CommitOwner,
): Promise<ShardCommit | undefined> {
  const c = await readCommit(store, run, shard, owner);
  if (!c) return undefined;
  const parts = [...c.files, ...(c.quarantineFiles ?? [])];
  if (parts.length === 0) return c;
  const sizes = new Map((await store.list(shardDir(run, shard))).map((o) => [o.key, o.size]));
  if (parts.every((f) => sizes.get(f.key) === f.bytes)) return c;
  const manifest = await readJsonIfExists<{ run_id?: string }>(store, manifestKey(run));
  return manifest?.run_id === owner.runId ? c : undefined;
}
