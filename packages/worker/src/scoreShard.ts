import * as arrow from 'apache-arrow';
import {
  BATCHSCORE_VERSION,
  BatchscoreError,
  commitKey,
  readJsonIfExists,
  toJsonText,
  type ShardCommit,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { loadModel, type LoadedModel } from './loadModel.js';
import { PartWriter } from './PartWriter.js';
import { readShard } from './readShard.js';
import { splitByPartition } from './splitByPartition.js';
import { infer, newTuning, READ_BATCH_ROWS } from './infer.js';

export interface ScoreOptions {
  threads?: number;
  /** Called after each batch with the rows done so far in this shard. */
  onProgress?: (rowsDone: number) => void;
  /** A model already loaded by the caller (one session per worker process). */
  model?: LoadedModel;
  /** Where warnings go (the CUDA fallback, say). */
  log?: (line: string) => void;
  /** Rescore even when the shard already committed for this plan. */
  force?: boolean;
}

const ATTEMPTS = 4;

/**
 * Scores a shard, or returns its commit when it already committed for this very plan (a rerun after a crash, an
 * Argo retry): the same keys hold the same rows, so nothing is scored twice. Retryable failures (storage,
 * network) retry the whole shard with backoff and jitter: nothing of it counts until its commit is written.
 */
export async function scoreShard(plan: ShardPlan, shardIndex: number, open: StoreFactory, opts: ScoreOptions = {}): Promise<ShardCommit & { skipped?: boolean }> {
  if (!opts.force) {
    const done = await committed(plan, shardIndex, open);
    if (done) return { ...done, skipped: true };
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await scoreShardOnce(plan, shardIndex, open, opts);
    } catch (err) {
      if (!(err instanceof BatchscoreError) || !err.retryable || attempt >= ATTEMPTS) throw err;
      const delay = Math.min(10_000, 250 * 2 ** attempt) * (0.5 + Math.random());
      opts.log?.(`shard ${shardIndex}: ${err.message}; retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${ATTEMPTS})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The shard's commit when it belongs to this plan and every part it lists is there with its size. */
export async function committed(plan: ShardPlan, shardIndex: number, open: StoreFactory): Promise<ShardCommit | undefined> {
  const store = open(plan.job.spec.output.uri);
  const c = await readJsonIfExists<ShardCommit>(store, commitKey({ batchDate: plan.batchDate, modelVersion: plan.model.version }, shardIndex));
  if (!c || c.runId !== plan.runId || c.planId !== plan.planId) return undefined;
  for (const f of c.files) if ((await store.head(f.key))?.size !== f.bytes) return undefined;
  return c;
}

/** Scores one shard: read → score → write staged parts → commit record. Returns the commit. */
async function scoreShardOnce(plan: ShardPlan, shardIndex: number, open: StoreFactory, opts: ScoreOptions): Promise<ShardCommit> {
  const shard = plan.shards[shardIndex];
  if (!shard) throw new BatchscoreError('USAGE', `shard ${shardIndex} does not exist: the plan has ${plan.shards.length} shards (0-${plan.shards.length - 1})`);
  const started = new Date();
  const { job } = plan;
  const threads = opts.threads ?? job.spec.worker.threads;
  const model = opts.model ?? (await loadModel(job, open, { expectSha256: plan.model.sha256, ...(threads ? { threads } : {}), ...(opts.log ? { log: opts.log } : {}) }));
  const inputStore = open(plan.inputUri);
  const outputStore = open(job.spec.output.uri);
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const writer = new PartWriter(outputStore, run, shardIndex, job.spec.output.rowsPerPart, {
    'batchscore.run_id': plan.runId,
    'batchscore.model_sha256': plan.model.sha256,
  });
  const passthrough = job.spec.output.passthrough;
  const partitionBy = job.spec.output.partitionBy;
  let rowsIn = 0;
  let rowsOut = 0;
  model.tuning ??= newTuning(job.spec.worker.batchSize);
  for await (const batch of readShard(plan, shard, inputStore, READ_BATCH_ROWS)) {
    rowsIn += batch.numRows;
    if (batch.numRows === 0) continue;
    const where = `shard ${shardIndex} of ${plan.inputUri}`;
    const predictions = await infer(model, model.tuning, batch, where);
    const cols: Record<string, arrow.Vector> = {};
    for (const c of passthrough) cols[c] = batch.getChild(c)!;
    Object.assign(cols, predictions);
    const scored = new arrow.Table(cols);
    for (const { partition, table } of splitByPartition(scored, partitionBy)) {
      await writer.add(partition, table);
      rowsOut += table.numRows;
    }
    opts.onProgress?.(rowsIn);
  }
  await writer.close();
  if (shard.rows !== null && rowsIn !== shard.rows) {
    throw new BatchscoreError('INPUT_INVALID', `shard ${shardIndex}: read ${rowsIn} rows where the plan counted ${shard.rows}; the input changed after planning`);
  }
  const finished = new Date();
  const commit: ShardCommit = {
    runId: plan.runId,
    planId: plan.planId,
    shard: shardIndex,
    rowsIn,
    rowsOut,
    files: writer.files,
    executionProvider: model.executionProvider,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(model.tuning.size ? { batchSize: model.tuning.size } : {}),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationS: (finished.getTime() - started.getTime()) / 1000,
  };
  // The commit record is written only after every part is durable: merge trusts nothing else.
  await outputStore.put(commitKey(run, shardIndex), toJsonText({ ...commit, batchscoreVersion: BATCHSCORE_VERSION }));
  return commit;
}
