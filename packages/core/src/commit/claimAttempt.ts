import { hostname } from 'node:os';
import { BatchscoreError } from '../errors.js';
import { readJsonIfExists, toJsonText } from '../json.js';
import { ATTEMPT_DIGITS, attemptClaimKey, commitKey, shardDir, type RunKey } from '../keys.js';
import type { ShardCommit } from '../plan.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import type { CommitOwner } from './CommitOwner.js';

/**
 * Takes the next free attempt number for this shard by exclusive create, so two attempts of one shard (an Argo
 * retry while a pod thought lost still writes) never write the same key. It starts after the highest number
 * present, found with one listing: trying 1, 2, 3… costs a failed create per earlier attempt (measured: 30% of a
 * 10M-row run after a few dozen reruns of one date).
 *
 * The shard's commit record counts as present too: merge removes the claims once it has published, and an attempt
 * that took the committed attempt's number again would pass for it (writeCommit takes a record of its own number
 * for its own lost answer), and merge's clean-up of a complete run would take its parts for published ones.
 */
export async function claimAttempt(
  store: ObjectStore,
  run: RunKey,
  shard: number,
  owner: CommitOwner,
): Promise<number> {
  const claim = toJsonText({
    runId: owner.runId,
    planId: owner.planId,
    pid: process.pid,
    host: hostname(),
    at: new Date().toISOString(),
  });
  let highest = 0;
  for (const o of await store.list(shardDir(run, shard))) {
    const m = /\/attempt-(\d+)\//.exec(o.key);
    if (m) highest = Math.max(highest, Number(m[1]));
    // Read only when there is one: a shard scored for the first time pays nothing for this.
    else if (o.key === commitKey(run, shard))
      highest = Math.max(highest, (await readJsonIfExists<ShardCommit>(store, o.key))?.attempt ?? 0);
  }
  for (let n = highest + 1; n < 10 ** ATTEMPT_DIGITS; n++) {
    if (await store.putIfAbsent(attemptClaimKey(run, shard, n), claim)) return n;
  }
  throw new BatchscoreError(
    'INTERNAL',
    `shard ${shard}: every attempt number up to ${10 ** ATTEMPT_DIGITS - 1} is taken; ` +
      `remove ${store.uriOf(shardDir(run, shard))}`,
  );
}
