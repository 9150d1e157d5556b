import ort from 'onnxruntime-node';
import { allocInput, castInto } from './castInto.js';
import type { LoadedModel } from './loadedModel.js';

/**
 * Rows per second of the model on one thread, on synthetic rows: enough to tell a cheap model (I/O-bound: more
 * worker processes) from a heavy one (compute-bound: fewer processes, more onnxruntime threads each).
 * Undefined, without running it, for a model with a fixed batch dimension: it would refuse the synthetic rows,
 * and a few rows per run say nothing about its cost per row. 1,024 rows tell the bench's models apart as well as
 * 4,096 did (mlp 2.5M, gbdt 0.7M, wide 28k rows/s against a line at 100k) in a fifth of the time: 69 ms
 * against 349 ms for wide, a cost every run of a heavy model paid before its first shard.
 */
export async function calibrate(model: LoadedModel, rows = 1_024): Promise<number | undefined> {
  if (model.fixedBatch !== undefined) return undefined;
  const feeds: Record<string, ort.Tensor> = {};
  for (const inp of model.inputs) {
    const k = inp.columns.length;
    const n = rows * k;
    const dims = inp.rank === 1 ? [rows] : [rows, k];
    if (inp.dtype === 'string') {
      // Categories the model has mostly never seen: the cost of a lookup is the same either way.
      feeds[inp.name] = new ort.Tensor(
        'string',
        Array.from({ length: n }, (_, i) => `c${i % 7}`),
        dims,
      );
      continue;
    }
    // Small values every dtype holds (0 to 2 for integers and bool), cast as scoring casts them.
    const isFloat = inp.dtype.startsWith('float');
    const values = Float64Array.from({ length: n }, (_, i) => (isFloat ? Math.sin(i * 12.9898) * 2 : i % 3));
    const data = allocInput(inp.dtype, n);
    castInto(data, values, 0, 1, n, inp.dtype);
    feeds[inp.name] = new ort.Tensor(inp.dtype, data as never, dims);
  }
  const names = [...new Set(model.outputs.map((o) => o.name))];
  await model.session.run(feeds, names);
  const t0 = performance.now();
  await model.session.run(feeds, names);
  return rows / ((performance.now() - t0) / 1000);
}
