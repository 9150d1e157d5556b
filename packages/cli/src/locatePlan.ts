import {
  BatchscoreError,
  openObject,
  planKey,
  readJson,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { dateArg } from './args.js';
import { loadJob } from './loadJob.js';
import { storeFactoryFor } from './storeFactory.js';

/**
 * The stage commands find the run's plan either by URI (`--plan s3://…/plan.json`, what Argo pods are given)
 * or from the job file and date, which always give the same key.
 */
export async function locatePlan(
  values: { plan?: string; date?: string; 'job-json'?: string },
  positionals: string[],
): Promise<{ plan: ShardPlan; open: StoreFactory; uri: string }> {
  let uri = values.plan;
  // With the job known, its plan is read from the store the job names (spec.storage.s3.endpoint); a plan URI
  // alone names no endpoint, so that one comes from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
  let openPlan = storeFactoryFor();
  if (!uri) {
    if (positionals.length === 0 && values['job-json'] === undefined) {
      throw new BatchscoreError('USAGE', "give the run's plan with --plan URI, or the job (file or --job-json) and --date");
    }
    const job = await loadJob(values, positionals);
    openPlan = storeFactoryFor(job);
    uri = openPlan(job.spec.output.uri).uriOf(planKey({ batchDate: dateArg(values.date), modelVersion: job.spec.model.version }));
  }
  const { store, key } = openObject(openPlan, uri);
  if (!(await store.head(key))) throw new BatchscoreError('INPUT_NOT_FOUND', `${uri}: no plan there; run \`batchscore plan\` first`);
  const plan = await readJson<ShardPlan>(store, key);
  if (plan.kind !== 'ShardPlan') throw new BatchscoreError('INPUT_INVALID', `${uri}: not a batchscore shard plan`);
  return { plan, open: storeFactoryFor(plan.job), uri };
}
