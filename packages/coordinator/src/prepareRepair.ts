import {
  checkPublishedRun,
  damagedShards,
  openRunStores,
  readRunState,
  resetShards,
  runKeyOf,
  storeConcurrency,
  type PublishedRunCheck,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';

/**
 * A rerun of a complete run whose published files are damaged (missing, or not their size): the shards that wrote
 * those files are started over (their commits and part records removed: resetShards), so just those shards are
 * scored again (the others stay committed, their parts published) and merge publishes them again in place of the
 * damaged files. Returns the damage found, or undefined when this output holds no complete manifest of this run, or
 * an intact one.
 */
export async function prepareRepair(open: StoreFactory, plan: ShardPlan): Promise<PublishedRunCheck | undefined> {
  const { books, records } = openRunStores(plan.job, open);
  const run = runKeyOf(plan);
  const { manifest } = await readRunState(records, run);
  if (manifest?.run_id !== plan.runId) return undefined;
  const limit = storeConcurrency(plan.job);
  const check = await checkPublishedRun(open, manifest, { concurrency: limit });
  if (check.damaged.length === 0) return undefined;
  await resetShards(books, run, limit, damagedShards(check));
  return check;
}
