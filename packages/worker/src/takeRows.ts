import * as arrow from 'apache-arrow';
import { BatchscoreError } from '@batchscore/core';

/**
 * Pure: the rows `rows` (ascending) of a table, copied buffer by buffer: values are never read into JavaScript and
 * built again, so every type keeps its exact value (a timestamp's nanoseconds, a list's items, a decimal's words)
 * and its type (a dictionary stays a dictionary, with its dictionary). One record batch out per batch rows come from.
 */
export function takeRows(t: arrow.Table, rows: Int32Array): arrow.Table {
  const out: arrow.RecordBatch[] = [];
  let start = 0;
  let i = 0;
  for (const batch of t.batches) {
    const end = start + batch.numRows;
    let j = i;
    while (j < rows.length && rows[j]! < end) j++;
    if (j > i) {
      const local = rows.subarray(i, j).map((r) => r - start);
      const children = batch.data.children.map((d) => takeData(d, local));
      out.push(
        new arrow.RecordBatch(
          t.schema,
          arrow.makeData({ type: new arrow.Struct(t.schema.fields), length: j - i, nullCount: 0, children }),
        ),
      );
    }
    i = j;
    start = end;
  }
  return new arrow.Table(t.schema, out);
}

/** Rows of one Data. arrow-js slices fixed-width values and offsets, but indexes bitmaps by `offset + row`. */
export function takeData(d: arrow.Data, rows: Int32Array): arrow.Data {
  const n = rows.length;
  const { type } = d;
  const [nullBitmap, nullCount] = takeValidity(d, rows);
  const make = (
    buffers: { valueOffsets?: unknown; values?: unknown },
    children: arrow.Data[] = [],
    dict?: arrow.Vector,
  ) =>
    new arrow.Data(type, 0, n, nullCount, [buffers.valueOffsets, buffers.values, nullBitmap] as never, children, dict);
  switch (type.typeId) {
    case arrow.Type.Null:
      return new arrow.Data(type, 0, n, n);
    case arrow.Type.Bool:
      return make({ values: takeBits(d.values as Uint8Array, d.offset, rows) });
    case arrow.Type.Int:
    case arrow.Type.Float:
    case arrow.Type.Date:
    case arrow.Type.Time:
    case arrow.Type.Timestamp:
    case arrow.Type.Decimal:
    case arrow.Type.Interval:
    case arrow.Type.Duration:
    case arrow.Type.FixedSizeBinary:
      return make({ values: takeFixed(d.values as unknown as TypedArray, d.stride, rows) });
    case arrow.Type.Dictionary:
      // The indices are taken; the dictionary is shared as it is.
      return make({ values: takeFixed(d.values as unknown as TypedArray, 1, rows) }, [], d.dictionary);
    case arrow.Type.Utf8:
    case arrow.Type.Binary:
    case arrow.Type.LargeUtf8:
    case arrow.Type.LargeBinary: {
      const { offsets, ranges } = takeRanges(d.valueOffsets as unknown as Offsets, rows);
      return make({ valueOffsets: offsets, values: copyRanges(d.values as Uint8Array, ranges, Number(last(offsets))) });
    }
    case arrow.Type.List:
    case arrow.Type.LargeList:
    case arrow.Type.Map: {
      const { offsets, ranges } = takeRanges(d.valueOffsets as unknown as Offsets, rows);
      const childRows = new Int32Array(Number(last(offsets)));
      let k = 0;
      for (const [s, e] of ranges) for (let r = s; r < e; r++) childRows[k++] = r;
      return make({ valueOffsets: offsets }, [takeData(d.children[0]!, childRows)]);
    }
    case arrow.Type.FixedSizeList: {
      const size = (type as arrow.FixedSizeList).listSize;
      const childRows = new Int32Array(n * size);
      for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) childRows[i * size + j] = rows[i]! * size + j;
      return make({}, [takeData(d.children[0]!, childRows)]);
    }
    case arrow.Type.Struct:
      return make(
        {},
        d.children.map((c) => takeData(c, rows)),
      );
    default:
      throw new BatchscoreError(
        'INPUT_INVALID',
        `a column of type ${String(type)} cannot be passed through (its rows cannot be taken apart)`,
      );
  }
}

/** Any of the typed arrays arrow-js keeps values in. */
type TypedArray = Uint8Array | Int32Array | BigInt64Array | Float64Array;
type Offsets = Int32Array | BigInt64Array;

function last(a: Offsets): number | bigint {
  return a[a.length - 1]!;
}

function takeValidity(d: arrow.Data, rows: Int32Array): [Uint8Array | undefined, number] {
  if (d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0) return [undefined, 0];
  const bits = takeBits(d.nullBitmap, d.offset, rows);
  let valid = 0;
  for (let i = 0; i < rows.length; i++) valid += (bits[i >> 3]! >> (i & 7)) & 1;
  return [bits, rows.length - valid];
}

function takeBits(src: Uint8Array, offset: number, rows: Int32Array): Uint8Array {
  const out = new Uint8Array(((rows.length + 63) & ~63) >> 3);
  for (let i = 0; i < rows.length; i++) {
    const p = offset + rows[i]!;
    if ((src[p >> 3]! >> (p & 7)) & 1) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}

function takeFixed(values: TypedArray, stride: number, rows: Int32Array): TypedArray {
  const Ctor = values.constructor as new (n: number) => TypedArray;
  const out = new Ctor(rows.length * stride);
  if (stride === 1) {
    const src = values as unknown as ArrayLike<number>;
    const dst = out as unknown as number[];
    for (let i = 0; i < rows.length; i++) dst[i] = src[rows[i]!]!;
  } else {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      (out as Uint8Array).set((values as Uint8Array).subarray(r * stride, (r + 1) * stride), i * stride);
    }
  }
  return out;
}

/** New offsets for the rows' variable-width values, and the [start, end) ranges of the old ones they come from. */
function takeRanges(src: Offsets, rows: Int32Array): { offsets: Offsets; ranges: [number, number][] } {
  const big = src instanceof BigInt64Array;
  const offsets = big ? new BigInt64Array(rows.length + 1) : new Int32Array(rows.length + 1);
  const ranges: [number, number][] = new Array(rows.length);
  let at = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const s = Number(src[r]!);
    const e = Number(src[r + 1]!);
    ranges[i] = [s, e];
    at += e - s;
    if (big) (offsets as BigInt64Array)[i + 1] = BigInt(at);
    else (offsets as Int32Array)[i + 1] = at;
  }
  return { offsets, ranges };
}

function copyRanges(src: Uint8Array, ranges: [number, number][], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const [s, e] of ranges) {
    out.set(src.subarray(s, e), at);
    at += e - s;
  }
  return out;
}

/**
 * Pure: a dictionary column as a column of its values (the dictionary's type), each row's value copied by index,
 * null where the index or the value is null.
 */
export function decodeDictionary(d: arrow.Data): arrow.Data {
  const indices = d.values as unknown as ArrayLike<number | bigint>;
  const rows = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) rows[i] = d.getValid(i) ? Number(indices[i]!) : 0;
  const dict = d.dictionary!;
  const taken = takeVectorRows(dict, rows);
  if (d.nullCount === 0) return taken;
  // A null index is a null row, whatever value row 0 of the dictionary holds.
  const bitmap = new Uint8Array(((d.length + 63) & ~63) >> 3);
  let nulls = 0;
  for (let i = 0; i < d.length; i++) {
    if (d.getValid(i) && taken.getValid(i)) bitmap[i >> 3] |= 1 << (i & 7);
    else nulls++;
  }
  return taken.clone(taken.type, 0, d.length, nulls, [taken.valueOffsets, taken.values, bitmap] as never);
}

/** Rows of a vector of one chunk (a dictionary is one). */
function takeVectorRows(v: arrow.Vector, rows: Int32Array): arrow.Data {
  if (v.data.length !== 1)
    throw new BatchscoreError('INTERNAL', `a dictionary of ${v.data.length} chunks (expected one)`);
  return takeData(v.data[0]!, rows);
}
