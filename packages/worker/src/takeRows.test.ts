import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeDictionary, takeRows } from './takeRows.js';

const n = 10;
const nulls = () => {
  const bits = new Uint8Array(8);
  for (let i = 0; i < n; i++) if (i % 3 !== 1) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
};
const fixed = (type: arrow.DataType, data: ArrayLike<number | bigint>) =>
  arrow.makeVector(arrow.makeData({ type, length: n, nullCount: -1, nullBitmap: nulls(), data } as never));

/** A table of every kind of layout takeRows copies: bitmaps, fixed widths, offsets, children, dictionaries. */
function table(): arrow.Table {
  const ids = Array.from({ length: n }, (_, i) => i);
  const struct = new arrow.Struct([
    new arrow.Field('a', new arrow.Int32(), true),
    new arrow.Field('b', new arrow.List(new arrow.Field('item', new arrow.Utf8(), true)), true),
  ]);
  return new arrow.Table({
    i8: fixed(
      new arrow.Int8(),
      Int8Array.from(ids, (i) => i - 128),
    ),
    u64: fixed(
      new arrow.Uint64(),
      BigUint64Array.from(ids, (i) => 18446744073709551615n - BigInt(i)),
    ),
    f32: fixed(
      new arrow.Float32(),
      Float32Array.from(ids, (i) => i / 3),
    ),
    bool: arrow.vectorFromArray(
      ids.map((i) => (i % 4 === 0 ? null : i % 2 === 0)),
      new arrow.Bool(),
    ),
    d64: fixed(
      new arrow.DateMillisecond(),
      BigInt64Array.from(ids, (i) => BigInt(i) * 86_400_000n),
    ),
    tsns: fixed(
      new arrow.Timestamp(arrow.TimeUnit.NANOSECOND, 'UTC'),
      BigInt64Array.from(ids, (i) => 1_700_000_000_123_456_789n + BigInt(i)),
    ),
    dec: fixed(
      new arrow.Decimal(3, 38, 128),
      Uint32Array.from({ length: n * 4 }, (_, k) => k * 7919),
    ),
    ivl: fixed(
      new arrow.IntervalDayTime(),
      Int32Array.from({ length: n * 2 }, (_, k) => k - 5),
    ),
    fsb: fixed(
      new arrow.FixedSizeBinary(3),
      Uint8Array.from({ length: n * 3 }, (_, k) => k),
    ),
    s: arrow.vectorFromArray(
      ids.map((i) => (i % 5 === 0 ? null : 'x'.repeat(i) + 'é')),
      new arrow.Utf8(),
    ),
    ls: arrow.vectorFromArray(
      ids.map((i) => `large ${i}`),
      new arrow.LargeUtf8(),
    ),
    bin: arrow.vectorFromArray(
      ids.map((i) => Uint8Array.from({ length: i }, (_, k) => k)),
      new arrow.Binary(),
    ),
    list: arrow.vectorFromArray(
      ids.map((i) => (i % 4 === 1 ? null : Array.from({ length: i % 3 }, (_, k) => (k === 1 ? null : i * 10 + k)))),
      new arrow.List(new arrow.Field('item', new arrow.Int32(), true)),
    ),
    llist: arrow.vectorFromArray(
      ids.map((i) => [BigInt(i), -BigInt(i)]),
      new arrow.LargeList(new arrow.Field('item', new arrow.Int64(), true)),
    ),
    fsl: arrow.vectorFromArray(
      ids.map((i) => (i === 2 ? null : [i, i + 0.5])),
      new arrow.FixedSizeList(2, new arrow.Field('item', new arrow.Float32(), true)),
    ),
    st: arrow.vectorFromArray(
      ids.map((i) => (i === 6 ? null : { a: i % 2 ? i : null, b: [`s${i}`, null] })),
      struct,
    ),
    dict: arrow.vectorFromArray(
      ids.map((i) => (i % 3 === 0 ? null : ['red', 'green', 'blue'][i % 3]!)),
      new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
    ),
  });
}

/**
 * Row `i` of a vector, exactly: leaves as their stored words (no rounding through a number), nested values
 * element by element, dictionaries by value. Read independently of takeRows: the oracle its output is held to.
 */
function exact(v: arrow.Vector, i: number): unknown {
  if (!v.isValid(i)) return null;
  let at = i;
  let d = v.data[0]!;
  for (d of v.data) {
    if (at < d.length) break;
    at -= d.length;
  }
  const t = v.type;
  if (arrow.DataType.isDictionary(t)) return exact(d.dictionary!, Number(d.values[at]));
  if (arrow.DataType.isBool(t)) return v.get(i);
  if (arrow.DataType.isStruct(t))
    return t.children.map((f, k) => [f.name, exact(arrow.makeVector(d.children[k]!), at)]);
  if (arrow.DataType.isList(t) || arrow.DataType.isLargeList(t) || arrow.DataType.isFixedSizeList(t)) {
    const items = v.get(i) as arrow.Vector;
    return Array.from({ length: items.length }, (_, k) => exact(items, k));
  }
  if (d.valueOffsets) {
    const o = d.valueOffsets as unknown as ArrayLike<number | bigint>;
    return Array.from((d.values as Uint8Array).subarray(Number(o[at]), Number(o[at + 1])));
  }
  return Array.from((d.values as unknown as Uint8Array).subarray(at * d.stride, (at + 1) * d.stride), String);
}

const rowsOf = (t: arrow.Table) =>
  Array.from({ length: t.numRows }, (_, i) => t.schema.fields.map((f) => [f.name, exact(t.getChild(f.name)!, i)]));

describe('takeRows', () => {
  it('copies each row of every type exactly as a slice of it holds it', () => {
    const t = table();
    const rows = [0, 2, 3, 5, 6, 9];
    const taken = takeRows(t, Int32Array.from(rows));
    expect(taken.numRows).toBe(rows.length);
    expect(String(taken.schema)).toBe(String(t.schema));
    const all = rowsOf(t);
    expect(rowsOf(taken)).toEqual(rows.map((r) => all[r]));
    // The oracle sees what a wrong take would change: nanoseconds, list items, nulls.
    expect(all[0]![5]).toEqual(['tsns', ['1700000000123456789']]);
    expect(all[1]![12]).toEqual(['list', null]);
  });

  it('takes from slices (data with an offset) and from tables of several batches', () => {
    const t = table();
    const sliced = t.slice(3);
    const two = new arrow.Table([...t.slice(0, 4).batches, ...t.slice(4).batches]);
    const fromSlice = takeRows(sliced, Int32Array.from([0, 1, 4, 6]));
    const fromTwo = takeRows(two, Int32Array.from([1, 3, 4, 8]));
    expect(fromTwo.batches.length).toBe(2);
    const all = rowsOf(t);
    expect(rowsOf(fromSlice)).toEqual([3, 4, 7, 9].map((r) => all[r]));
    expect(rowsOf(fromTwo)).toEqual([1, 3, 4, 8].map((r) => all[r]));
  });

  it('keeps dictionary columns as dictionaries of the same dictionary', () => {
    const t = table();
    const taken = takeRows(t, Int32Array.from([1, 2, 3]));
    const d = taken.getChild('dict')!;
    expect(String(d.type)).toBe('Dictionary<Int32, Utf8>');
    expect(d.data[0]!.dictionary).toBe(t.getChild('dict')!.data[0]!.dictionary);
    expect(d.toArray()).toEqual(['green', 'blue', null]);
  });
});

describe('decodeDictionary', () => {
  it('gives each row its value, null where the index is null', () => {
    const v = table().getChild('dict')!;
    const out = arrow.makeVector(decodeDictionary(v.data[0]!));
    expect(String(out.type)).toBe('Utf8');
    expect(out.toArray()).toEqual(v.toArray());
  });
});
