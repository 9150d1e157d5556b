import {
  BatchscoreError,
  openObject,
  planKey,
  readPlan,
  readPlanHeader,
  readShardRecord,
  runKeyOf,
  toShardRecord,
  type ObjectStore,
  type PlanHeader,
  type ShardPlan,
  type ShardRecord,
  type StoreFactory,
  outputLayout,
} from '@batchscore/core';
import { dateArg } from './args.js';
import { loadJob } from './loadJob.js';
import { storeFactoryFor } from './storeFactory.js';

/**
 * The stage commands find the run's plan either by URI (`--plan s3://…/plan.json`, what Argo pods are given)
 * or from the job file and date, which always give the same key.
 */
export async function locatePlan(
  values: PlanArgs,
  positionals: string[],
): Promise<{ plan: PlanHeader; open: StoreFactory; uri: string; shard: (index: number) => Promise<ShardRecord> }> {
  const { store, key, uri } = await planLocation(values, positionals);
  const plan = await readPlanHeader(store, key);
  return { plan, open: storeFactoryFor(plan.job), uri, shard: (i) => readShardRecord(store, key, plan, i) };
}

/**
 * The whole plan, every file and shard (merge; `run --local`'s workers, which score many shards and read it once).
 * `shard` then reads nothing more.
 */
export async function locateWholePlan(
  values: PlanArgs,
  positionals: string[],
): Promise<{ plan: ShardPlan; open: StoreFactory; uri: string; shard: (index: number) => Promise<ShardRecord> }> {
  const { store, key, uri } = await planLocation(values, positionals);
  const plan = await readPlan(store, key);
  const shard = async (i: number) => {
    const s = plan.shards[i];
    if (!s)
      throw new BatchscoreError(
        'USAGE',
        `shard ${i} does not exist: the plan has ${plan.shardCount} shards (0-${plan.shardCount - 1})`,
      );
    return toShardRecord(plan, s);
  };
  return { plan, open: storeFactoryFor(plan.job), uri, shard };
}

type PlanArgs = { plan?: string; date?: string; 'job-json'?: string };

async function planLocation(
  values: PlanArgs,
  positionals: string[],
): Promise<{ store: ObjectStore; key: string; uri: string }> {
  let uri = values.plan;
  // With the job known, its plan is read from the store the job names (spec.storage.s3.endpoint); a plan URI
  // alone names no endpoint, so that one comes from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
  let openPlan = storeFactoryFor();
  if (!uri) {
    if (positionals.length === 0 && values['job-json'] === undefined) {
      throw new BatchscoreError(
        'USAGE',
        "give the run's plan with --plan URI, or the job (file or --job-json) and --date",
      );
    }
    const job = await loadJob(values, positionals);
    openPlan = storeFactoryFor(job);
    uri = openPlan(outputLayout(job).bookkeeping).uriOf(planKey(runKeyOf(job, dateArg(values.date))));
  }
  if (!uri.endsWith('.json'))
    throw new BatchscoreError(
      'USAGE',
      `--plan ${uri}: a plan's URI ends in .json (the plan.json that \`batchscore plan\` prints)`,
    );
  const { store, key } = openObject(openPlan, uri);
  return { store, key, uri };
}
