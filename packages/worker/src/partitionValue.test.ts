import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { partitionValue } from './partitionValue.js';

const one = (type: arrow.DataType, data: ArrayLike<number | bigint>, length = data.length) =>
  arrow.makeVector(arrow.makeData({ type, length, nullCount: 0, data } as never));
const all = (v: arrow.Vector) => Array.from({ length: v.length }, (_, i) => partitionValue(v, 'c', i));

describe('partitionValue', () => {
  it('spells integers in full, past 2^53 and at the 64-bit edges', () => {
    expect(all(one(new arrow.Int64(), [-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]))).toEqual([
      '-9223372036854775808',
      '9007199254740993',
      '9223372036854775807',
    ]);
    expect(all(one(new arrow.Uint64(), [2n ** 64n - 1n]))).toEqual(['18446744073709551615']);
    expect(all(one(new arrow.Int8(), [-128, 127]))).toEqual(['-128', '127']);
  });

  it('spells a float as the shortest decimal of its own precision', () => {
    expect(all(one(new arrow.Float32(), [0.1, 1 / 3, -0, Infinity]))).toEqual(['0.1', '0.33333334', '0', 'Infinity']);
    expect(all(one(new arrow.Float64(), [0.1, 1e21]))).toEqual(['0.1', '1e+21']);
  });

  it('spells dates, timestamps and times to the last digit, before 1970 and past 2262', () => {
    expect(all(one(new arrow.DateDay(), [0, -1, -719_528, 2_932_896]))).toEqual([
      '1970-01-01',
      '1969-12-31',
      '0000-01-01',
      '9999-12-31',
    ]);
    expect(all(one(new arrow.DateMillisecond(), [-86_400_000n, 86_400_000n * 365n]))).toEqual([
      '1969-12-31',
      '1971-01-01',
    ]);
    const ns = one(new arrow.Timestamp(arrow.TimeUnit.NANOSECOND), [1_700_000_000_123_456_789n, -1n]);
    expect(all(ns)).toEqual(['2023-11-14 22:13:20.123456789', '1969-12-31 23:59:59.999999999']);
    // Year 18029, checked against JavaScript's own calendar.
    const s = one(new arrow.Timestamp(arrow.TimeUnit.SECOND), [506_804_601_598n]);
    expect(new Date(506_804_601_598_000).toISOString()).toBe('+018029-12-30T23:59:58.000Z');
    expect(all(s)).toEqual(['18029-12-30 23:59:58']);
    expect(all(one(new arrow.TimeMicrosecond(), [3_723_000_500n]))).toEqual(['01:02:03.0005']);
  });

  it('spells decimals exactly, negative ones included', () => {
    const words = (v: bigint) => {
      const u = BigInt.asUintN(128, v);
      return [0, 1, 2, 3].map((w) => Number((u >> BigInt(32 * w)) & 0xffffffffn));
    };
    const dec = one(
      new arrow.Decimal(3, 38, 128),
      Uint32Array.from([...words(-1234567n), ...words(5n), ...words(10n ** 37n)]),
      3,
    );
    expect(all(dec)).toEqual(['-1234.567', '0.005', '10000000000000000000000000000000000.000']);
  });

  it('spells booleans and strings, and gives null for null (a dictionary by its value)', () => {
    expect(all(arrow.vectorFromArray([true, false, null], new arrow.Bool()))).toEqual(['true', 'false', null]);
    const dict = arrow.vectorFromArray(['EU', null, 'US'], new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()));
    expect(all(dict)).toEqual(['EU', null, 'US']);
  });

  it('refuses types a folder cannot hold, naming the column', () => {
    const list = arrow.vectorFromArray([[1]], new arrow.List(new arrow.Field('item', new arrow.Int32(), true)));
    expect(() => partitionValue(list, 'tags', 0)).toThrow(
      'spec.output.partitionBy column "tags" is List<Int32>; a partition folder holds strings, numbers, booleans, ' +
        'dates, times or timestamps',
    );
  });
});
