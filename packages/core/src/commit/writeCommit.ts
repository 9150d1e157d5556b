import { toJsonText } from '../json.js';
import { commitKey, type RunKey } from '../keys.js';
import type { ShardCommit } from '../plan.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import { readCommit } from './readCommit.js';
import { BATCHSCORE_VERSION } from '../version.js';

export interface WriteCommitOptions {
  /** Replace whatever commit record is there (score --force). */
  force?: boolean;
  log?: (line: string) => void;
}

/**
 * Writes the shard's commit record, the one thing merge trusts: call it only once every part it lists is durable.
 * An exclusive create, so of two attempts of one shard (a retried pod racing the one thought lost) exactly one
 * counts. Returns the commit that counts: ours, or (`skipped`) the other attempt's, whose parts ours then gives up.
 */
export async function writeCommit(
  store: ObjectStore,
  run: RunKey,
  commit: ShardCommit,
  opts: WriteCommitOptions = {},
): Promise<ShardCommit & { skipped?: boolean }> {
  const key = commitKey(run, commit.shard);
  const body = toJsonText({ ...commit, batchscoreVersion: BATCHSCORE_VERSION });
  if (opts.force) {
    await store.put(key, body);
    return commit;
  }
  if (await store.putIfAbsent(key, body)) return commit;
  const other = await readCommit(store, run, commit.shard, commit);
  // Our own commit, if the store could not tell us it took our write (its answer lost, the retry refused).
  if (other && other.attempt === commit.attempt) return commit;
  if (other) {
    // Another attempt of this shard committed first: its parts count, and ours would never be read.
    await store.deleteMany([...commit.files, ...commit.quarantineFiles].map((f) => f.key));
    opts.log?.(
      `shard ${commit.shard}: attempt ${other.attempt} committed first; attempt ${commit.attempt}'s ` +
        `parts were discarded`,
    );
    return { ...other, skipped: true };
  }
  // A commit of an earlier plan (the input or spec changed since): this attempt replaces it.
  await store.put(key, body);
  return commit;
}
