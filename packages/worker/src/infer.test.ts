import * as arrow from 'apache-arrow';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { infer, newTuning } from './infer.js';
import type { LoadedModel } from './loadedModel.js';

/**
 * A session that computes y = [a + b, a * b] and records each run's row count; it fails above `failAbove` rows.
 * `reshape` gives the shape it returns for a run of n rows (the data then holds that many values), to play a model
 * whose outputs do not match its input.
 */
function fakeModel(failAbove = Infinity, msPerRow = 0, reshape?: (n: number, run: number) => number[]) {
  const runs: number[] = [];
  const session = {
    outputMetadata: [{ name: 'y', isTensor: true, type: 'float32', shape: ['N', 2] }],
    async run(feeds: Record<string, ort.Tensor>) {
      const x = feeds.x!;
      const n = Number(x.dims[0]);
      runs.push(n);
      if (n > failAbove) throw new Error('Failed to allocate memory');
      const start = performance.now();
      while (performance.now() - start < n * msPerRow) {
        /* model cost grows with the batch */
      }
      const d = x.data as Float32Array;
      const y = new Float32Array(n * 2);
      for (let i = 0; i < n; i++) {
        y[i * 2] = d[i * 2]! + d[i * 2 + 1]!;
        y[i * 2 + 1] = d[i * 2]! * d[i * 2 + 1]!;
      }
      if (reshape) {
        const dims = reshape(n, runs.length);
        const size = dims.reduce((a, b) => a * b, 1);
        const data = new Float32Array(size);
        data.set(y.subarray(0, Math.min(size, y.length)));
        return { y: new ort.Tensor('float32', data, dims) };
      }
      return { y: new ort.Tensor('float32', y, [n, 2]) };
    },
  } as unknown as ort.InferenceSession;
  const model: LoadedModel = {
    session,
    inputs: [{ name: 'x', dtype: 'float32', columns: ['a', 'b'], rank: 2 }],
    outputs: [{ name: 'y', dtype: 'float32', column: 's', index: 1 }],
    executionProvider: 'cpu',
    onnxruntimeVersion: '1.30.0',
  };
  return { model, runs };
}

const batch = (n: number) =>
  new arrow.Table({
    a: arrow.makeVector(Float64Array.from({ length: n }, (_, i) => i)),
    b: arrow.makeVector(Float64Array.from({ length: n }, () => 2)),
  });

describe('infer', () => {
  it('scores every row once, in order, whatever the sub-batch size', async () => {
    for (const fixed of [1, 7, 1000, 'auto'] as const) {
      const { model, runs } = fakeModel();
      const cols = await infer(model, newTuning(fixed), batch(5000), 'test');
      expect(Array.from(cols.s!.toArray() as Float32Array)).toEqual(Array.from({ length: 5000 }, (_, i) => i * 2));
      expect(runs.reduce((a, b) => a + b, 0)).toBe(5000);
      if (fixed !== 'auto') expect(Math.max(...runs)).toBe(Math.min(fixed, 5000));
    }
  });

  it('auto: tries growing sizes on real rows and settles on one, kept for later batches', async () => {
    const { model, runs } = fakeModel();
    const tuning = newTuning('auto');
    for (let i = 0; i < 6; i++) await infer(model, tuning, batch(100_000), 'test');
    expect(tuning.size).toBeDefined();
    expect([1024, 4096, 16384, 65536]).toContain(tuning.size);
    expect(tuning.trials.map((t) => t.size)).toEqual([1024, 4096, 16384, 65536].slice(0, tuning.trials.length));
    // Once settled, the last batch runs at that size only (and its remainder).
    const last = runs.slice(-Math.ceil(100_000 / tuning.size!));
    expect(new Set(last.slice(0, -1))).toEqual(new Set([tuning.size]));
  });

  it('backs off when a run fails at a large size, and remembers the ceiling', async () => {
    const { model, runs } = fakeModel(3000);
    const tuning = newTuning(8192);
    const cols = await infer(model, tuning, batch(20_000), 'test');
    expect(cols.s!.length).toBe(20_000);
    expect(runs[0]).toBe(8192);
    expect(tuning.ceiling).toBe(2048);
    expect(tuning.size).toBe(2048);
    expect(runs.slice(-3)).toEqual([2048, 2048, 20_000 % 2048]);
  });

  it('gives up with MODEL_INVALID when even small runs fail', async () => {
    const { model } = fakeModel(0);
    await expect(infer(model, newTuning(1024), batch(10), 'shard 3')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});

describe("infer checks every run's output shape", () => {
  it.each([
    ['a batch dimension hard-coded to 1', (_n: number) => [1, 2], '[1, 2]'],
    ['a rank-3 output declared [N, 2]', (n: number) => [n, 2, 2], '[1000, 2, 2]'],
    ['a 1-D output declared [N, 2]', (n: number) => [n * 2], '[2000]'],
    ['a width other than the declared 2', (n: number) => [n, 3], '[1000, 3]'],
    ['one more row than the input', (n: number) => [n + 1, 2], '[1001, 2]'],
  ])('%s is MODEL_INVALID naming the output and its shape, never a partly-zero column', async (_, reshape, shape) => {
    const { model } = fakeModel(Infinity, 0, reshape);
    const err = await infer(model, newTuning(1000), batch(2000), 'shard 3').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_INVALID' });
    expect((err as Error).message).toBe(
      `shard 3: model output "y" has shape ${shape} for a run of 1000 rows; expected [1000, 2] ` +
        `(the model declares [N, 2])`,
    );
  });

  it('a width that changes from one run to the next is MODEL_INVALID', async () => {
    const model = fakeModel(Infinity, 0, (n, run) => [n, run === 1 ? 2 : 3]).model;
    model.session.outputMetadata[0] = { name: 'y', isTensor: true, type: 'float32', shape: ['N', 'K'] };
    const err = await infer(model, newTuning(1000), batch(2000), 'shard 3').catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `shard 3: model output "y" has shape [1000, 3] for a run of 1000 rows; expected [1000, 2] ` +
        `(the model declares [N, K], and its earlier runs had 2 values per row)`,
    );
  });
});

describe('infer with a fixed batch dimension', () => {
  it('runs every batch at exactly that size, pads the last and drops the padding', async () => {
    const { model, runs } = fakeModel();
    model.fixedBatch = 8;
    const cols = await infer(model, { size: 8, trials: [], ceiling: 8 }, batch(21), 'test');
    expect(runs).toEqual([8, 8, 8]);
    expect(Array.from(cols.s!.toArray() as Float32Array)).toEqual(Array.from({ length: 21 }, (_, i) => i * 2));
  });

  it('a failed run is not retried at a smaller size, which the model would refuse too', async () => {
    const { model, runs } = fakeModel(0);
    model.fixedBatch = 512;
    await expect(infer(model, { size: 512, trials: [], ceiling: 512 }, batch(600), 'shard 3')).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
    expect(runs).toEqual([512]);
  });
});
