import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { toParquetTypes } from './toParquetTypes.js';

const vec = (type: arrow.DataType, data: ArrayLike<number | bigint>) =>
  arrow.makeVector(arrow.makeData({ type, length: data.length, nullCount: 0, data } as never));
const raw = (v: arrow.Vector) => Array.from(v.data[0]!.values as unknown as ArrayLike<number | bigint>);

describe('toParquetTypes', () => {
  it('stores date64, timestamp[s] and time32[s] in units Parquet has, to the same instant', () => {
    const t = new arrow.Table({
      d64: vec(new arrow.DateMillisecond(), BigInt64Array.from([0n, -86_400_000n, 86_400_000n * 366n, -1n])),
      ts: vec(new arrow.Timestamp(arrow.TimeUnit.SECOND, 'Europe/Paris'), BigInt64Array.from([1n, -2n, 0n, 3n])),
      t32: vec(new arrow.TimeSecond(), Int32Array.from([0, 86_399, 1, 2])),
      keep: vec(new arrow.Timestamp(arrow.TimeUnit.NANOSECOND), BigInt64Array.from([1n, 2n, 3n, 4n])),
    });
    const out = toParquetTypes(t);
    expect(out.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual([
      'd64: Date32<DAY>',
      'ts: Timestamp<MILLISECOND, Europe/Paris>',
      't32: Time32<MILLISECOND>',
      'keep: Timestamp<NANOSECOND>',
    ]);
    // A date64 that is not a whole day (Arrow says it must be) is floored to its day, as pyarrow writes it.
    expect(raw(out.getChild('d64')!)).toEqual([0, -1, 366, -1]);
    expect(raw(out.getChild('ts')!)).toEqual([1000n, -2000n, 0n, 3000n]);
    expect(raw(out.getChild('t32')!)).toEqual([0, 86_399_000, 1000, 2000]);
    expect(raw(out.getChild('keep')!)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('turns them inside lists and structs too, nulls kept', () => {
    const list = arrow.vectorFromArray(
      [[0n, 86_400_000n], null],
      new arrow.List(new arrow.Field('item', new arrow.DateMillisecond(), true)),
    );
    const out = toParquetTypes(new arrow.Table({ list }));
    expect(String(out.schema.fields[0]!.type)).toBe('List<Date32<DAY>>');
    const v = out.getChild('list')!;
    expect([v.isValid(0), v.isValid(1)]).toEqual([true, false]);
    expect(raw(arrow.makeVector(v.data[0]!.children[0]!))).toEqual([0, 1]);
  });

  it('returns a table without such types as it is', () => {
    const t = new arrow.Table({ x: vec(new arrow.Float32(), Float32Array.from([1])) });
    expect(toParquetTypes(t)).toBe(t);
  });
});
