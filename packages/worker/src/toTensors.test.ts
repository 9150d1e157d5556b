import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decimalVector, float64Dictionary } from '../../../test/support/arrowTypes.js';
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
