import type * as arrow from 'apache-arrow';
import { BatchscoreError } from '@batchscore/core';
import ort from 'onnxruntime-node';
import { checkOutputShape } from './checkOutputShape.js';
import type { BatchTuning, LoadedModel } from './loadedModel.js';
import { toColumns } from './toColumns.js';
import { toTensors } from './toTensors.js';

/**
 * Rows decoded per step: near a row group, so Parquet decodes in large steps (143 ms per 1M rows at 131072 against 212
 * at 65536).
 */
export const READ_BATCH_ROWS = 131_072;
// Powers of four: the best size is often small (onnxruntime with 2 threads on the wide fixture: 68k rows/s at
// 4096 rows, 35k at 65536, as its intermediates fall out of cache).
const TRIAL_SIZES = [1_024, 4_096, 16_384, 65_536];
/** Each trial size is timed over at least this many rows, so one noisy run does not decide. */
const TRIAL_ROWS = 16_384;
const MIN_BATCH = 256;

/** A process's batch tuning before its first batch: the spec's fixed size, or none yet ('auto': trials settle it). */
export function newTuning(fixed: number | 'auto'): BatchTuning {
  return fixed === 'auto' ? { trials: [], ceiling: Infinity } : { size: fixed, trials: [], ceiling: fixed };
}

/**
 * Scores one decoded batch: builds the input tensors once, runs the model over sub-batches (views, no copies) and
 * collects each output into one buffer. While the size is not settled, sub-batches grow through TRIAL_SIZES and
 * the fastest rows/s wins, so the tuning rows are real work. Scores do not depend on the sub-batch size (checked
 * bit for bit on CPU), so tuning never changes a result. A run that fails at a large size is retried at half.
 */
export async function infer(
  model: LoadedModel,
  tuning: BatchTuning,
  batch: arrow.Table,
  where: string,
): Promise<Record<string, arrow.Vector>> {
  const rows = batch.numRows;
  const feeds = toTensors(batch, model.inputs, where);
  const outNames = [...new Set(model.outputs.map((o) => o.name))];
  const declared = Object.fromEntries(outNames.map((n) => [n, declaredShape(model, n)]));
  const buffers: Record<
    string,
    { data: ArrayLike<number | bigint> & { set(a: ArrayLike<number | bigint>, o: number): void }; width: number }
  > = {};
  let off = 0;
  while (off < rows) {
    // A trial size that does not fit the rest of this batch waits for the next batch; the rest is scored at the
    // best size so far, unmeasured.
    const wanted = tuning.size ?? Math.min(nextTrial(tuning), tuning.ceiling);
    const trial = tuning.size === undefined && wanted <= rows - off;
    const size = Math.min(trial ? wanted : (tuning.size ?? bestSoFar(tuning)), tuning.ceiling, rows - off);
    // A fixed-batch model takes exactly its size: a shorter last run is padded with zero rows.
    const runRows = model.fixedBatch ?? size;
    const sub: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const k = t.dims.length === 1 ? 1 : Number(t.dims[1]);
      if (t.type === 'string') {
        // A string tensor's data is a plain array (no subarray); a fixed batch pads with empty strings.
        const strings = (t.data as string[]).slice(off * k, (off + size) * k);
        while (strings.length < runRows * k) strings.push('');
        sub[name] = new ort.Tensor('string', strings, t.dims.length === 1 ? [runRows] : [runRows, k]);
        continue;
      }
      let data = (t.data as Float32Array).subarray(off * k, (off + size) * k);
      if (runRows > size) {
        const padded = new (data.constructor as Float32ArrayConstructor)(runRows * k);
        padded.set(data);
        data = padded;
      }
      sub[name] = new ort.Tensor(
        t.type as 'float32',
        data as Float32Array,
        t.dims.length === 1 ? [runRows] : [runRows, k],
      );
    }
    const t0 = performance.now();
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await model.session.run(sub, outNames);
    } catch (err) {
      // A fixed batch cannot shrink, so its failure is final.
      if (size <= MIN_BATCH || model.fixedBatch !== undefined)
        throw new BatchscoreError(
          'MODEL_INVALID',
          `${where}: the model failed on ${size} rows (${String((err as Error)?.message ?? err).split('\n')[0]})`,
          { cause: err },
        );
      // Most often memory: back off and remember the ceiling for this process.
      tuning.ceiling = Math.max(MIN_BATCH, Math.floor(size / 2));
      if (tuning.size !== undefined) tuning.size = Math.min(tuning.size, tuning.ceiling);
      continue;
    }
    const ms = performance.now() - t0;
    for (const name of outNames) {
      const t = results[name] as ort.Tensor;
      if (!t) throw new BatchscoreError('MODEL_INVALID', `${where}: the model returned no output "${name}"`);
      checkOutputShape(name, t.dims, declared[name], runRows, buffers[name]?.width, where);
      const width = t.dims.length === 1 ? 1 : Number(t.dims[1]);
      let b = buffers[name];
      if (!b) {
        // A string output (a classifier's labels) comes as a plain array; it is gathered in one too.
        const Ctor =
          t.type === 'string'
            ? (StringBuffer as unknown as new (n: number) => Float32Array)
            : ((t.data as object).constructor as new (n: number) => Float32Array);
        b = buffers[name] = { data: new Ctor(rows * width), width };
      }
      const data = t.data as Float32Array;
      b.data.set(runRows > size ? data.subarray(0, size * b.width) : data, off * b.width);
    }
    if (trial) {
      const p = tuning.pending?.size === size ? tuning.pending : (tuning.pending = { size, rows: 0, ms: 0 });
      p.rows += size;
      p.ms += ms;
      if (p.rows >= Math.max(TRIAL_ROWS, size)) {
        tuning.pending = undefined;
        record(tuning, size, (p.rows / p.ms) * 1000);
      }
    }
    off += size;
  }
  const full: Record<string, { data: unknown; dims: number[] }> = {};
  for (const [name, b] of Object.entries(buffers))
    full[name] = { data: b.data, dims: b.width === 1 && declared[name]?.length === 1 ? [rows] : [rows, b.width] };
  return toColumns(full as unknown as ort.InferenceSession.OnnxValueMapType, model.outputs, rows);
}

function declaredShape(model: LoadedModel, name: string): readonly (number | string)[] | undefined {
  const meta = model.session.outputMetadata.find((m) => m.name === name);
  return meta && meta.isTensor ? meta.shape : undefined;
}

function bestSoFar(t: BatchTuning): number {
  return t.trials.length ? t.trials.reduce((a, b) => (b.rowsPerS > a.rowsPerS ? b : a)).size : TRIAL_SIZES[0]!;
}

function nextTrial(t: BatchTuning): number {
  return TRIAL_SIZES[t.trials.length] ?? TRIAL_SIZES[TRIAL_SIZES.length - 1]!;
}

/**
 * Keeps growing while each size is within 5% of the best so far, and settles on the largest size within 3% of
 * the best: timings under load are noisy, and on a near-tie fewer, larger runs cost less per row outside the
 * model (fewer tensors, less garbage). Growth stops early since larger batches also hold more memory
 * (onnxruntime's arena keeps its high-water mark).
 */
function record(t: BatchTuning, size: number, rowsPerS: number): void {
  // The very first run also pays the session's warm-up; measure the first size again before comparing.
  if (t.trials.length === 0 && !(t as { warmed?: boolean }).warmed) {
    (t as { warmed?: boolean }).warmed = true;
    return;
  }
  t.trials.push({ size, rowsPerS });
  const best = t.trials.reduce((a, b) => (b.rowsPerS > a.rowsPerS ? b : a));
  const slower = rowsPerS < best.rowsPerS * 0.95;
  if (slower || t.trials.length === TRIAL_SIZES.length || size >= t.ceiling || nextTrial(t) > READ_BATCH_ROWS) {
    t.size = t.trials
      .filter((x) => x.rowsPerS >= best.rowsPerS * 0.97)
      .reduce((a, b) => (b.size > a.size ? b : a)).size;
  }
}

/** An Array of strings with the two typed-array methods infer uses to gather outputs run by run. */
class StringBuffer extends Array<string> {
  constructor(n: number) {
    super(n);
  }
  set(src: ArrayLike<string>, offset: number): void {
    for (let i = 0; i < src.length; i++) this[offset + i] = src[i]!;
  }
  subarray(start: number, end: number): string[] {
    return this.slice(start, end);
  }
}
