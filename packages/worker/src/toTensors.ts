import * as arrow from 'apache-arrow';
import { BatchscoreError } from '@batchscore/core';
import ort from 'onnxruntime-node';
import type { BoundInput, InputDType } from './loadModel.js';
import { numericValues, type Numbers as NumArray } from './numericValues.js';
import { toFloat16 } from './toFloat16.js';

/**
 * Builds one tensor per model input: columns cast to the model's dtype and stacked row-major as [rows, columns],
 * with typed-array copies (no per-row objects).
 */
export function toTensors(batch: arrow.Table, inputs: BoundInput[], where: string): Record<string, ort.Tensor> {
  const rows = batch.numRows;
  const feeds: Record<string, ort.Tensor> = {};
  for (const inp of inputs) {
    const k = inp.columns.length;
    if (inp.dtype === 'string') {
      feeds[inp.name] = new ort.Tensor(
        'string',
        stringValues(batch, inp.columns, rows, where),
        inp.rank === 1 ? [rows] : [rows, k],
      );
      continue;
    }
    // float16 is gathered as float64, then cast as onnxruntime casts a float to float16 (toFloat16).
    const out = alloc(inp.dtype === 'float16' ? 'float64' : inp.dtype, rows * k);
    inp.columns.forEach((col, j) => {
      const vec = batch.getChild(col);
      if (!vec) throw new BatchscoreError('INPUT_INVALID', `${where}: column "${col}" is missing`);
      if (vec.nullCount > 0) {
        throw new BatchscoreError(
          'INPUT_INVALID',
          `${where}: column "${col}" has ${vec.nullCount} null value${vec.nullCount === 1 ? '' : 's'}; ` +
            `model features must not be null`,
        );
      }
      fill(out, numericValues(vec), j, k, rows);
    });
    const dims = inp.rank === 1 ? [rows] : [rows, k];
    feeds[inp.name] =
      inp.dtype === 'float16'
        ? new ort.Tensor('float16', Uint16Array.from(out as Float64Array, toFloat16), dims)
        : new ort.Tensor(inp.dtype, out, dims);
  }
  return feeds;
}

/** A string input's values, row-major; a null (unless quarantined before, by default) is the empty string. */
function stringValues(batch: arrow.Table, columns: string[], rows: number, where: string): string[] {
  const k = columns.length;
  const out = new Array<string>(rows * k);
  columns.forEach((col, j) => {
    const vec = batch.getChild(col);
    if (!vec) throw new BatchscoreError('INPUT_INVALID', `${where}: column "${col}" is missing`);
    for (let i = 0; i < rows; i++) {
      const v = vec.get(i) as unknown;
      // A null left here is one spec.validation.nullStrings: empty lets through.
      out[i * k + j] = v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
    }
  });
  return out;
}

function alloc(dtype: Exclude<InputDType, 'string' | 'float16'>, n: number) {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

function fill(
  out: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array,
  src: NumArray,
  j: number,
  k: number,
  rows: number,
) {
  if (out instanceof Uint8Array) {
    // A bool input: any non-zero value is true, as numpy's astype(bool) reads it.
    for (let i = 0; i < rows; i++) out[i * k + j] = src[i] ? 1 : 0;
    return;
  }
  if (out instanceof BigInt64Array) {
    if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
      for (let i = 0; i < rows; i++) out[i * k + j] = BigInt.asIntN(64, src[i]!);
    } else {
      for (let i = 0; i < rows; i++) out[i * k + j] = BigInt(Math.trunc(src[i] as number));
    }
    return;
  }
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let i = 0; i < rows; i++) out[i * k + j] = Number(src[i]!);
    return;
  }
  const s = src as Float64Array;
  if (k === 1) {
    out.set(s.length === rows ? s : s.subarray(0, rows));
    return;
  }
  for (let i = 0; i < rows; i++) out[i * k + j] = s[i]!;
}
