import * as arrow from 'apache-arrow';
import {
  BATCHSCORE_VERSION,
  BatchscoreError,
  commitKey,
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
}

/** Scores one shard: read → score → write staged parts → commit record. Returns the commit. */
export async function scoreShard(plan: ShardPlan, shardIndex: number, open: StoreFactory, opts: ScoreOptions = {}): Promise<ShardCommit> {
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
