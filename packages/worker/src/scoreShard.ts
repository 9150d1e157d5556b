import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  claimAttempt,
  mark,
  prefetchNext,
  findCommitted,
  writeCommit,
  numericColumns,
  featureColumns,
  newFeatureStats,
  SketchBuilder,
  addCounts,
  describeCounts,
  type Sketch,
  type ShardCommit,
  type PlanHeader,
  type ShardRecord,
  type StoreFactory,
} from '@batchscore/core';
import { checkColumnKinds } from './checkColumnKinds.js';
import { loadModel, type LoadedModel } from './loadModel.js';
import { PartWriter } from './PartWriter.js';
import { readShard } from './readShard.js';
import { splitByPartition } from './splitByPartition.js';
import { infer, newTuning, READ_BATCH_ROWS } from './infer.js';
import { findInvalidRows, splitInvalidRows, type CastTarget } from './findInvalidRows.js';
import type { BoundInput } from './loadModel.js';

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
  /** Called after each scored batch with its wall time (read, validate, score, stage) and rows. */
  onBatch?: (seconds: number, rows: number) => void;
}

/**
 * Scores a shard, or returns its commit when it already committed for this very plan (a rerun after a crash, an
 * Argo retry): the same keys hold the same rows, so nothing is scored twice. A retryable failure is not retried
 * here: the S3 client retries each request, and the orchestrator (Argo's retryStrategy, run --local's parent)
 * the whole shard; a third layer would multiply their attempts.
 */
export async function scoreShard(
  plan: PlanHeader,
  shard: ShardRecord,
  open: StoreFactory,
  opts: ScoreOptions = {},
): Promise<ShardCommit & { skipped?: boolean }> {
  if (!opts.force) {
    const done = await committed(plan, shard.index, open);
    if (done) return { ...done, skipped: true };
  }
  return scoreShardOnce(plan, shard, open, opts);
}

/** The shard's commit when it belongs to this plan and every part it lists is there with its size. */
export async function committed(
  plan: PlanHeader,
  shardIndex: number,
  open: StoreFactory,
): Promise<ShardCommit | undefined> {
  return findCommitted(
    open(plan.job.spec.output.uri),
    { batchDate: plan.batchDate, modelVersion: plan.model.version },
    shardIndex,
    plan,
  );
}

/** Scores one shard: read → validate → score → write staged parts → commit record. Returns the commit. */
async function scoreShardOnce(
  plan: PlanHeader,
  shard: ShardRecord,
  open: StoreFactory,
  opts: ScoreOptions,
): Promise<ShardCommit & { skipped?: boolean }> {
  const shardIndex = shard.index;
  const started = new Date();
  mark('shard start', { shard: shardIndex });
  const { job } = plan;
  const threads = opts.threads ?? job.spec.worker.threads;
  const model =
    opts.model ??
    (await loadModel(job, open, {
      expectSha256: plan.model.sha256,
      ...(threads ? { threads } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    }));
  checkColumnKinds(plan, model.inputs);
  const inputStore = open(plan.inputUri);
  const outputStore = open(job.spec.output.uri);
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const attempt = await claimAttempt(outputStore, run, shardIndex, plan);
  const meta = { 'batchscore.run_id': plan.runId, 'batchscore.model_sha256': plan.model.sha256 };
  const writer = new PartWriter(outputStore, run, shardIndex, attempt, job.spec.output.rowsPerPart, meta);
  const quarantine = new PartWriter(
    outputStore,
    run,
    shardIndex,
    attempt,
    job.spec.output.rowsPerPart,
    meta,
    'quarantine',
  );
  const passthrough = job.spec.output.passthrough;
  const partitionBy = job.spec.output.partitionBy;
  // Features the model takes as strings (tensor(string): categorical columns) are read and checked as strings.
  const text = [...new Set(model.inputs.filter((i) => i.dtype === 'string').flatMap((i) => i.columns))];
  const numeric = numericColumns(job, text);
  const casts = castTargets(model.inputs);
  const { ranges, maxInvalidFraction } = job.spec.validation;
  // With the input's size known, a shard alone past the run's limit fails now rather than after every shard ran.
  const quarantineLimit = plan.totalRows === null ? Infinity : Math.floor(maxInvalidFraction * plan.totalRows);
  const invalidCounts: Record<string, number> = {};
  let rowsIn = 0;
  let rowsOut = 0;
  let rowsQuarantined = 0;
  const features = Object.fromEntries(
    featureColumns(job)
      .filter((c) => numeric.includes(c))
      .map((c) => [c, newFeatureStats()]),
  );
  const predictions = Object.fromEntries(job.spec.model.outputs.map((o) => [o.column, new SketchBuilder()]));
  model.tuning ??= newTuning(job.spec.worker.batchSize);
  let t0 = performance.now();
  // The next batch is read and decoded while this one scores (prefetchNext): its file reads no longer leave the
  // worker idle between batches.
  for await (const batch of prefetchNext(readShard(plan, shard, inputStore, READ_BATCH_ROWS, text))) {
    rowsIn += batch.numRows;
    if (batch.numRows === 0) continue;

    const where = `shard ${shardIndex} of ${plan.inputUri}`;
    let good = batch;
    // Feature statistics describe the input as read, bad rows included; they are gathered in the same pass.
    const invalid = findInvalidRows(
      batch,
      numeric,
      ranges,
      features,
      job.spec.validation.nullStrings === 'empty' ? [] : text,
      casts,
    );
    if (invalid.rows.length > 0) {
      const { valid, quarantined } = splitInvalidRows(batch, invalid);
      await quarantine.add('', quarantined);
      rowsQuarantined += quarantined.numRows;
      addCounts(invalidCounts, invalid.counts);
      if (rowsQuarantined > quarantineLimit) {
        throw new BatchscoreError(
          'INPUT_INVALID',
          `${where}: ${rowsQuarantined} invalid rows so far (${describeCounts(invalidCounts)}; ` +
            `first: ${invalid.reasons[0]}), more than spec.validation.maxInvalidFraction ${maxInvalidFraction} ` +
            `of the input's ${plan.totalRows} rows allows (${quarantineLimit})`,
        );
      }
      good = valid;
    }
    if (good.numRows > 0) {
      const scoredCols = await infer(model, model.tuning, good, where);
      const cols: Record<string, arrow.Vector> = {};
      for (const c of passthrough) cols[c] = good.getChild(c)!;
      Object.assign(cols, scoredCols);
      for (const [c, sk] of Object.entries(predictions)) {
        const v = scoredCols[c];
        // A whole-row output (a list column) has no single value to chart, nor a label (a string column).
        if (v && !arrow.DataType.isFixedSizeList(v.type) && !arrow.DataType.isUtf8(v.type))
          sk.add(v.toArray() as ArrayLike<number>);
      }
      const scored = new arrow.Table(cols);
      for (const { partition, table } of splitByPartition(scored, partitionBy)) {
        await writer.add(partition, table);
        rowsOut += table.numRows;
      }
    }
    opts.onProgress?.(rowsIn);
    const t1 = performance.now();
    opts.onBatch?.((t1 - t0) / 1000, batch.numRows);
    t0 = t1;
  }
  await writer.close();
  await quarantine.close();
  mark('shard written', { shard: shardIndex });
  if (shard.rows !== null && rowsIn !== shard.rows) {
    throw new BatchscoreError(
      'INPUT_INVALID',
      `shard ${shardIndex}: read ${rowsIn} rows where the plan counted ${shard.rows}; the input changed after planning`,
    );
  }
  if (rowsIn !== rowsOut + rowsQuarantined) {
    throw new BatchscoreError(
      'INTERNAL',
      `shard ${shardIndex}: read ${rowsIn} rows but wrote ${rowsOut} and quarantined ${rowsQuarantined}`,
    );
  }
  const finished = new Date();
  const commit: ShardCommit = {
    runId: plan.runId,
    planId: plan.planId,
    shard: shardIndex,
    attempt,
    rowsIn,
    rowsOut,
    rowsQuarantined,
    files: writer.files,
    ...(writer.columns ? { columns: writer.columns } : {}),
    quarantineFiles: quarantine.files,
    invalidCounts,
    quality: { features, predictions: sketchesOf(predictions) },
    executionProvider: model.executionProvider,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(model.tuning.size ? { batchSize: model.tuning.size } : {}),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationS: (finished.getTime() - started.getTime()) / 1000,
  };
  // The commit record is written only after every part is durable: merge trusts nothing else.
  const written = await writeCommit(outputStore, run, commit, {
    ...(opts.force ? { force: true } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  mark('shard committed', { shard: shardIndex, rows: rowsIn });
  return written;
}

/** Each column a numeric model input takes, with the dtypes its values must be representable in. */
function castTargets(inputs: readonly BoundInput[]): Record<string, CastTarget[]> {
  const out: Record<string, CastTarget[]> = {};
  for (const inp of inputs) {
    const dtype = inp.dtype;
    if (dtype === 'string') continue;
    for (const c of inp.columns) (out[c] ??= []).push({ dtype, input: inp.name });
  }
  return out;
}

/** The prediction columns' sketches, leaving out columns with no value to chart (list outputs, an empty shard). */
function sketchesOf(builders: Record<string, SketchBuilder>): Record<string, Sketch> {
  const out: Record<string, Sketch> = {};
  for (const [c, b] of Object.entries(builders)) {
    const sk = b.toSketch();
    if (sk.count > 0) out[c] = sk;
  }
  return out;
}
