import { BatchscoreError } from '../errors.js';
import type { RunKey } from './runKey.js';
import { mapLimit } from '../mapLimit.js';
import type { ShardPlan } from '../plan.js';
import type { ShardCommit } from './records.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import { readCommit } from './readCommit.js';

/**
 * Every shard's commit record for this plan, one GET each, `limit` at a time (one at a time, 10,000 shards took
 * minutes even on loopback). Throws RUN_INCOMPLETE naming the shards that have not committed.
 */
export async function readCommits(
  store: ObjectStore,
  run: RunKey,
  plan: Pick<ShardPlan, 'runId' | 'planId' | 'shards'>,
  limit: number,
): Promise<ShardCommit[]> {
  const found: (ShardCommit | undefined)[] = new Array(plan.shards.length);
  await mapLimit(plan.shards, limit, async (s) => {
    found[s.index] = await readCommit(store, run, s.index, plan);
  });
  const commits = found.filter((c): c is ShardCommit => c !== undefined);
  const missing = plan.shards.filter((s) => !found[s.index]).map((s) => s.index);
  if (missing.length > 0) {
    const list =
      missing
        .slice(0, 10)
        .map((i) => String(i).padStart(5, '0'))
        .join(', ') + (missing.length > 10 ? ', …' : '');
    throw new BatchscoreError(
      'RUN_INCOMPLETE',
      `${missing.length} of ${plan.shards.length} shards have not committed (${list}); score them, then merge again`,
    );
  }
  return commits;
}
