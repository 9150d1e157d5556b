import * as arrow from 'apache-arrow';
import ort from 'onnxruntime-node';
import { CREDIT_MODEL } from './cli.js';

const FEATURES = ['age', 'income', 'credit', 'loan'];

/** P(default) for each row, straight from onnxruntime on the whole table: the reference the pipeline must match. */
export async function referenceScores(t: arrow.Table, model = CREDIT_MODEL): Promise<Float32Array> {
  const n = t.numRows;
  const x = new Float32Array(n * 4);
  FEATURES.forEach((c, j) => {
    const v = t.getChild(c)!;
    for (let i = 0; i < n; i++) x[i * 4 + j] = Number(v.get(i));
  });
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ features: new ort.Tensor('float32', x, [n, 4]) });
  const p = out.probabilities!.data as Float32Array;
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) r[i] = p[i * 2 + 1]!;
  await s.release();
  return r;
}

/** Asserts-by-return: ids seen exactly once each, and the largest score difference from the reference. */
export function compareToReference(
  out: arrow.Table,
  ids: BigInt64Array | number[],
  ref: Float32Array,
  idCol = 'customer_id',
  scoreCol = 'default_probability',
) {
  const expected = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) expected.set(String(ids[i]), ref[i]!);
  const seen = new Map<string, number>();
  let maxDiff = 0;
  let unknown = 0;
  const idv = out.getChild(idCol)!;
  const sv = out.getChild(scoreCol)!;
  for (let i = 0; i < out.numRows; i++) {
    const id = String(idv.get(i));
    seen.set(id, (seen.get(id) ?? 0) + 1);
    const e = expected.get(id);
    if (e === undefined) unknown++;
    else maxDiff = Math.max(maxDiff, Math.abs(e - (sv.get(i) as number)));
  }
  const duplicated = [...seen.values()].filter((c) => c > 1).length;
  const missing = [...expected.keys()].filter((k) => !seen.has(k)).length;
  return { duplicated, missing, unknown, maxDiff, rows: out.numRows };
}
