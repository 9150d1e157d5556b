import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  mark,
  prefetchNext,
  numericColumns,
  featureColumns,
  addCounts,
  describeCounts,
  openRunStores,
  runKeyOf,
  storeConcurrency,
  ShardWriter,
  type Build,
  type InputPosition,
  type ShardCommit,
  type PlanHeader,
  type ShardRecord,
  type StoreFactory,
} from '@batchscore/core';
import { keepFieldMetadata } from './keepFieldMetadata.js';
import { checkColumnKinds } from './checkColumnKinds.js';
import type { LoadedModel } from './loadedModel.js';
import { loadModel } from './loadModel.js';
import { PartBuffer } from './PartBuffer.js';
import { readShard } from './readShard.js';
import { splitByPartition } from './splitByPartition.js';
import { textColumnOf } from './textColumnOf.js';
import { infer, newTuning, READ_BATCH_ROWS } from './infer.js';
import { findInvalidRows, splitInvalidRows, type CastTarget } from './findInvalidRows.js';
import type { BoundInput } from './loadedModel.js';

export interface ScoreOptions {
  threads?: number;
  /** Called after each batch with the shard's rows read so far (committed parts of earlier attempts included). */
  onProgress?: (rowsDone: number) => void;
  /** A model already loaded by the caller (one session per worker process). */
  model?: LoadedModel;
  /** Where warnings go (the CUDA fallback, say). */
  log?: (line: string) => void;
  /** Start the shard over, even when it already committed for this plan. */
  force?: boolean;
  /** Called after each scored batch with its wall time (read, validate, score, stage) and rows. */
  onBatch?: (seconds: number, rows: number) => void;
  /** The image this process runs from, recorded in its parts and commit (a pod's BATCHSCORE_IMAGE). */
  image?: string;
  /**
   * Aborted (SIGTERM: the pod is being reclaimed), the shard stops reading, scores the batch in flight, commits the
   * part so far and throws STOPPED: a retry resumes right after it.
   */
  signal?: AbortSignal;
  /** Keep the files of a part left uncommitted when the attempt fails (ShardWriterOptions.leavePartsOnError). */
  leavePartsOnError?: boolean;
}

/** A shard's commit, and what this attempt did of it. */
export type ScoredShard = ShardCommit & {
  /** Already committed for this plan: nothing was scored. */
  skipped?: boolean;
  /** Rows this attempt scored, and the shard row it started from (after parts committed before it). */
  scored?: { rows: number; from: number };
};

/**
 * Scores a shard: read → validate → score → hand parts to the shard writer, which commits each on its own and then
 * the shard. An attempt starts after the parts already committed for this very plan (a retry after a reclaim, a
 * crash, an Argo retry), and a shard already committed is not scored again. A retryable failure is not retried
 * here: the S3 client retries each request, and the orchestrator (Argo's retryStrategy, run --local's pool) the
 * attempt, which then resumes; a third layer would multiply their attempts.
 */
export async function scoreShard(
  plan: PlanHeader,
  shard: ShardRecord,
  open: StoreFactory,
  opts: ScoreOptions = {},
): Promise<ScoredShard> {
  const shardIndex = shard.index;
  const started = new Date();
  const { job } = plan;
  const rowsPerPart = job.spec.output.rowsPerPart;
  // Staged parts and the records go to the bookkeeping folder; merge publishes the parts into the table.
  const { books, records } = openRunStores(job, open);
  const writer = await ShardWriter.open(books, runKeyOf(plan), shardIndex, plan, {
    rowsPerPart,
    records,
    concurrency: storeConcurrency(job),
    ...(opts.force ? { force: true } : {}),
    ...(opts.leavePartsOnError ? { leavePartsOnError: true } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  if (writer.committed) return { ...writer.committed, skipped: true };
  mark('shard start', { shard: shardIndex, from: writer.from.row });
  let scored = 0;
  try {
    return await scoreParts(plan, shard, open, opts, writer, started, (n) => (scored += n));
  } catch (err) {
    await writer.abandon(err instanceof BatchscoreError && err.code === 'STOPPED' ? 'stopped' : 'failed', scored);
    throw err;
  }
}

/** The attempt's work once the shard is open: parts from the writer's start to the end of the input. */
async function scoreParts(
  plan: PlanHeader,
  shard: ShardRecord,
  open: StoreFactory,
  opts: ScoreOptions,
  writer: ShardWriter,
  started: Date,
  count: (rows: number) => void,
): Promise<ScoredShard> {
  const shardIndex = shard.index;
  const { job } = plan;
  const rowsPerPart = job.spec.output.rowsPerPart;
  const threads = opts.threads ?? job.spec.worker.threads;
  const model =
    opts.model ??
    (await loadModel(job, open, {
      expect: plan.model,
      ...(threads ? { threads } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    }));
  checkColumnKinds(plan, model.inputs);
  const inputStore = open(plan.inputUri);
  const meta = { 'batchscore.run_id': plan.runId, 'batchscore.model_sha256': plan.model.sha256 };
  const passthrough = job.spec.output.passthrough;
  const partitionBy = job.spec.output.partitionBy;
  // Features only tensor(string) inputs take (categorical columns) are read and checked as strings. A column a
  // numeric input takes too is read, checked and cast as numbers; from CSV/JSONL its text as written is kept beside
  // them for the string input and for passthrough (textColumnOf).
  const numericInputs = new Set(model.inputs.filter((i) => i.dtype !== 'string').flatMap((i) => i.columns));
  const stringInputs = new Set(model.inputs.filter((i) => i.dtype === 'string').flatMap((i) => i.columns));
  const text = [...stringInputs].filter((c) => !numericInputs.has(c));
  const numeric = numericColumns(job, text);
  const keepText = numeric.filter((c) => stringInputs.has(c) || passthrough.includes(c));
  const casts = castTargets(model.inputs);
  const { ranges, maxInvalidFraction } = job.spec.validation;
  // With the input's size known, a shard alone past the run's limit fails now rather than after every shard ran.
  const quarantineLimit = plan.totalRows === null ? Infinity : Math.floor(maxInvalidFraction * plan.totalRows);
  const shape = {
    features: featureColumns(job).filter((c) => numeric.includes(c)),
    predictions: job.spec.model.outputs.map((o) => o.column),
  };
  model.tuning ??= newTuning(job.spec.worker.batchSize);
  const tuning = model.tuning;
  const where = `shard ${shardIndex} of ${plan.inputUri}`;
  let scored = 0;
  // Recorded in every part and the shard's commit, so that a user can tell which build scored which rows.
  const build: Build = {
    ...(opts.image ? { image: opts.image } : {}),
    nodeVersion: process.version,
    onnxruntimeVersion: model.onnxruntimeVersion,
  };
  const partOf = (part: PartBuffer) =>
    part.toPart({
      metadata: meta,
      executionProvider: model.executionProvider,
      build,
      ...(tuning.size ? { batchSize: tuning.size } : {}),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    });

  /** Scores from `from` to the end of the input, or until the writer says to read again from elsewhere. */
  const scoreFrom = async (from: InputPosition): Promise<{ end: InputPosition } | { resume: InputPosition }> => {
    let part = new PartBuffer(from, shape);
    let quarantined = writer.quarantinedBefore(from.row);
    let t0 = performance.now();
    const batches = readShard(plan, shard, inputStore, READ_BATCH_ROWS, text, {
      from,
      partRows: rowsPerPart,
      keepText,
    });
    // The next batch is read and decoded while this one scores (prefetchNext): its file reads no longer leave the
    // worker idle between batches.
    for await (const { table: batch, end } of prefetchNext(batches)) {
      part.end = end;
      scored += batch.numRows;
      count(batch.numRows);
      if (batch.numRows > 0) {
        let good = batch;
        // Feature statistics describe the input as read, bad rows included; they are gathered in the same pass.
        const invalid = findInvalidRows(
          batch,
          numeric,
          ranges,
          part.features,
          job.spec.validation.nullStrings === 'empty' ? [] : text,
          casts,
        );
        if (invalid.rows.length > 0) {
          const { valid, quarantined: bad } = splitInvalidRows(batch, invalid);
          part.addQuarantined(bad);
          addCounts(part.invalidCounts, invalid.counts);
          quarantined += bad.numRows;
          if (quarantined > quarantineLimit) {
            throw new BatchscoreError(
              'INPUT_INVALID',
              `${where}: ${quarantined} invalid rows so far (${describeCounts(part.invalidCounts)}; ` +
                `first: ${invalid.reasons[0]}), more than spec.validation.maxInvalidFraction ${maxInvalidFraction} ` +
                `of the input's ${plan.totalRows} rows allows (${quarantineLimit})`,
            );
          }
          good = valid;
        }
        if (good.numRows > 0) {
          const scoredCols = await infer(model, tuning, good, where);
          const cols: Record<string, arrow.Vector> = {};
          for (const c of passthrough) cols[c] = good.getChild(textColumnOf(c)) ?? good.getChild(c)!;
          Object.assign(cols, scoredCols);
          for (const [c, sk] of Object.entries(part.predictions)) {
            const v = scoredCols[c];
            // A whole-row output (a list column) has no single value to chart, nor a label (a string column).
            if (v && !arrow.DataType.isFixedSizeList(v.type) && !arrow.DataType.isUtf8(v.type))
              sk.add(v.toArray() as ArrayLike<number>);
          }
          const scored = keepFieldMetadata(new arrow.Table(cols), good.schema, passthrough);
          for (const { partition, table } of splitByPartition(scored, partitionBy)) part.addScored(partition, table);
        }
      }
      opts.onProgress?.(end.row);
      const t1 = performance.now();
      opts.onBatch?.((t1 - t0) / 1000, batch.numRows);
      t0 = t1;
      const stopping = opts.signal?.aborted === true;
      // A part ends at every multiple of rowsPerPart rows of the shard (the reader cuts batches there), and where
      // the shard stops on SIGTERM.
      if (end.row % rowsPerPart === 0 || (stopping && part.rowsIn > 0)) {
        const w = await writer.write(partOf(part));
        if (w.resume) return { resume: w.resume };
        part = new PartBuffer(end, shape);
      }
      if (stopping) {
        const settled = await writer.settle();
        throw new BatchscoreError(
          'STOPPED',
          `shard ${shardIndex}: stopped by SIGTERM at row ${settled.resume?.row ?? end.row}; the parts before ` +
            `it are committed, and a retry resumes there`,
        );
      }
    }
    if (part.rowsIn > 0) {
      const w = await writer.write(partOf(part));
      if (w.resume) return { resume: w.resume };
    }
    return { end: part.end };
  };

  let from = writer.from;
  for (;;) {
    const r = await scoreFrom(from);
    if ('resume' in r) {
      from = r.resume;
      continue;
    }
    if (shard.rows !== null && r.end.row !== shard.rows) {
      throw new BatchscoreError(
        'INPUT_INVALID',
        `shard ${shardIndex}: read ${r.end.row} rows where the plan counted ${shard.rows}; the input changed ` +
          `after planning`,
      );
    }
    const f = await writer.finish(r.end, {
      scored,
      executionProvider: model.executionProvider,
      ...(tuning.size ? { batchSize: tuning.size } : {}),
      startedAt: started,
      build,
    });
    if ('resume' in f) {
      from = f.resume;
      continue;
    }
    mark('shard committed', { shard: shardIndex, rows: scored });
    return { ...f.commit, scored: { rows: scored, from: writer.from.row } };
  }
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
