import * as arrow from 'apache-arrow';
import { BatchscoreError } from '@batchscore/core';
import type ort from 'onnxruntime-node';
import type { BoundOutput, OutputDType } from './loadedModel.js';
import { fromFloat16 } from './toFloat16.js';

const ARROW_TYPES: Record<OutputDType, () => arrow.DataType> = {
  // Published as float32, which holds every half exactly and every Parquet reader reads.
  float16: () => new arrow.Float32(),
  float32: () => new arrow.Float32(),
  float64: () => new arrow.Float64(),
  int8: () => new arrow.Int8(),
  int16: () => new arrow.Int16(),
  int32: () => new arrow.Int32(),
  int64: () => new arrow.Int64(),
  uint8: () => new arrow.Uint8(),
  uint16: () => new arrow.Uint16(),
  uint32: () => new arrow.Uint32(),
  uint64: () => new arrow.Uint64(),
  bool: () => new arrow.Bool(),
  string: () => new arrow.Utf8(),
};

/** Turns model outputs into prediction columns: one element of the last axis, or the whole row as a fixed-size list. */
export function toColumns(
  results: ort.InferenceSession.OnnxValueMapType,
  outputs: BoundOutput[],
  rows: number,
): Record<string, arrow.Vector> {
  const cols: Record<string, arrow.Vector> = {};
  for (const o of outputs) {
    const t = results[o.name] as ort.Tensor | undefined;
    if (!t) throw new BatchscoreError('MODEL_INVALID', `the model returned no output "${o.name}"`);
    if (t.dims[0] !== rows)
      throw new BatchscoreError('MODEL_INVALID', `output "${o.name}" has ${t.dims[0]} rows for ${rows} input rows`);
    const width = t.dims.length === 1 ? 1 : Number(t.dims[1]);
    // onnxruntime-node hands float16 out as its bits.
    const data = (o.dtype === 'float16' ? Float32Array.from(t.data as Uint16Array, fromFloat16) : t.data) as ArrayLike<
      number | bigint
    > & { subarray?: unknown };
    const type = ARROW_TYPES[o.dtype]();
    if (o.index !== undefined || t.dims.length === 1) {
      const idx = o.index ?? 0;
      if (idx >= width)
        throw new BatchscoreError(
          'MODEL_INVALID',
          `output "${o.name}" has ${width} values per row; index ${idx} is out of range`,
        );
      if (o.dtype === 'string') {
        cols[o.column] = arrow.vectorFromArray(
          Array.from({ length: rows }, (_, i) => String(data[i * width + idx])),
          new arrow.Utf8(),
        );
        continue;
      }
      const Ctor = (data as object).constructor as new (n: number) => Float32Array;
      const col = new Ctor(rows);
      for (let i = 0; i < rows; i++) col[i] = data[i * width + idx] as number;
      cols[o.column] = vectorOf(type, col as unknown as ArrayLike<number>, rows);
    } else {
      // Arrow's booleans are bits, onnxruntime's bytes: a bool row's values are packed, not copied.
      const child =
        o.dtype === 'bool'
          ? vectorOf(type, (data as Uint8Array).subarray(0, rows * width), rows * width).data[0]!
          : arrow.makeData({ type, length: rows * width, nullCount: 0, data: copyOf(data, rows * width) } as never);
      const listType = new arrow.FixedSizeList(width, new arrow.Field('item', type, false));
      cols[o.column] = arrow.makeVector(arrow.makeData({ type: listType, length: rows, nullCount: 0, child }));
    }
  }
  return cols;
}

function vectorOf(type: arrow.DataType, values: ArrayLike<number>, rows: number): arrow.Vector {
  if (arrow.DataType.isBool(type))
    return arrow.vectorFromArray(
      Array.from(values, (v) => Boolean(v)),
      new arrow.Bool(),
    );
  return arrow.makeVector(arrow.makeData({ type, length: rows, nullCount: 0, data: values } as never));
}

function copyOf(data: ArrayLike<number | bigint>, n: number) {
  const Ctor = (data as object).constructor as new (src: ArrayLike<number | bigint>) => ArrayLike<number>;
  const sub = (data as unknown as { subarray(a: number, b: number): ArrayLike<number | bigint> }).subarray(0, n);
  return new Ctor(sub);
}
