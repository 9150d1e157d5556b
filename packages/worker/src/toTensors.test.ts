import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decimalVector, float64Dictionary } from '../../../test/support/arrowTypes.js';
import { EXACT_INTS_COLUMN } from './exactInts.js';
import { toTensors } from './toTensors.js';

const f64 = (columns: string[]) => [{ name: 'x', dtype: 'float64' as const, columns, rank: 2 as const }];

describe('toTensors', () => {
  it('scales decimal128 values by 10^scale, exactly (45.13 stays 45.13, not 4513)', () => {
    const t = new arrow.Table({ d: decimalVector([4513n, -2000n, 7n, 0n], 10, 2) });
    expect(Array.from(toTensors(t, f64(['d']), 'test').x!.data as Float64Array)).toEqual([45.13, -20, 0.07, 0]);
    const f32 = toTensors(t, [{ name: 'x', dtype: 'float32', columns: ['d'], rank: 2 }], 'test').x!
      .data as Float32Array;
    expect(Array.from(f32)).toEqual([Math.fround(45.13), -20, Math.fround(0.07), 0]);
  });

  it('scales decimal256 values, and values past 2^53 round once, to the nearest double', () => {
    const big = 123456789012345678901234567890n;
    const t = new arrow.Table({ d: decimalVector([big, -big, 4513n], 40, 2, 256) });
    // The nearest doubles to the decimals' values: written as strings, since no number literal holds 29 digits.
    const near = Number('1234567890123456789012345678.9');
    expect(Array.from(toTensors(t, f64(['d']), 'test').x!.data as Float64Array)).toEqual([near, -near, 45.13]);
  });

  it('reads a decimal with scale 0 as its integer, into an int64 input too', () => {
    const t = new arrow.Table({ d: decimalVector([42n, -7n], 9, 0) });
    expect(
      Array.from(
        toTensors(t, [{ name: 'x', dtype: 'int64', columns: ['d'], rank: 1 }], 'test').x!.data as BigInt64Array,
      ),
    ).toEqual([42n, -7n]);
  });

  it('decodes a dictionary<int32, float64> column to its values', () => {
    const t = new arrow.Table({ d: float64Dictionary([1.5, 2.25], [1, 0, 1]) });
    expect(Array.from(toTensors(t, f64(['d']), 'test').x!.data as Float64Array)).toEqual([2.25, 1.5, 2.25]);
  });
});

describe('toTensors casts as numpy astype does', () => {
  const input = (dtype: string, columns = ['a']) => [{ name: 'x', dtype: dtype as never, columns, rank: 2 as const }];
  const fed = (t: arrow.Table, dtype: string) =>
    Array.from(toTensors(t, input(dtype), 'test').x!.data as ArrayLike<unknown>);

  it('int64 → float32 rounds once, not through float64', () => {
    const t = new arrow.Table({
      a: arrow.vectorFromArray([2n ** 60n + 2n ** 36n + 1n, -(2n ** 63n)], new arrow.Int64()),
    });
    expect(fed(t, 'float32')).toEqual([2 ** 60 + 2 ** 37, -(2 ** 63)]);
  });

  it("a text reader's integers past 2^53 reach int64, uint64 and float32 inputs exactly", () => {
    const t = new arrow.Table({
      a: arrow.makeVector(new Float64Array([2 ** 63, 2 ** 53, 7])),
      [EXACT_INTS_COLUMN]: arrow.vectorFromArray(
        [JSON.stringify([['a', String(2n ** 63n - 1n)]]), JSON.stringify([['a', String(2n ** 53n + 1n)]]), null],
        new arrow.Utf8(),
      ),
    });
    expect(fed(t, 'int64')).toEqual([2n ** 63n - 1n, 2n ** 53n + 1n, 7n]);
    expect(fed(t, 'uint64')).toEqual([2n ** 63n - 1n, 2n ** 53n + 1n, 7n]);
    expect(fed(t, 'float32')).toEqual([2 ** 63, 2 ** 53, 7]);
    expect(fed(t, 'float64')).toEqual([2 ** 63, 2 ** 53, 7]);
  });

  it('floats truncate toward zero into integers of every width; anything non-zero is true', () => {
    const t = new arrow.Table({ a: arrow.makeVector(new Float64Array([127.9, -128.9, -0.5, 0, -0])) });
    expect(fed(t, 'int8')).toEqual([127, -128, 0, 0, 0]);
    expect(fed(t, 'int16')).toEqual([127, -128, 0, 0, 0]);
    expect(fed(t, 'uint8').slice(0, 1)).toEqual([127]);
    expect(fed(t, 'int64')).toEqual([127n, -128n, 0n, 0n, 0n]);
    expect(fed(t, 'bool')).toEqual([1, 1, 1, 0, 0]);
  });

  it('float64 → float16 rounds once (1 + 2^-11 + 2^-40 is 1 + 2^-10, not 1)', () => {
    const t = new arrow.Table({ a: arrow.makeVector(new Float64Array([1 + 2 ** -11 + 2 ** -40, 65504])) });
    expect(fed(t, 'float16')).toEqual([0x3c01, 0x7bff]);
  });

  it('a dictionary of int64 values stays exact', () => {
    const t = new arrow.Table({
      a: arrow.makeVector(
        arrow.makeData({
          type: new arrow.Dictionary(new arrow.Int64(), new arrow.Int32()),
          length: 3,
          nullCount: 0,
          data: Int32Array.from([1, 0, 1]),
          dictionary: arrow.vectorFromArray([2n ** 62n + 1n, -3n], new arrow.Int64()),
        }),
      ),
    });
    expect(fed(t, 'int64')).toEqual([-3n, 2n ** 62n + 1n, -3n]);
  });
});
