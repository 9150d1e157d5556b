import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decimalVector } from '../../../test/support/arrowTypes.js';
import { spellValues } from './spellValues.js';

// Every expectation here is what pyarrow 26's cast(pa.string()) gave for the same values.
describe('spellValues spells as pyarrow casts to string', () => {
  it('float32: its own shortest digits', () => {
    const v = arrow.makeVector(
      Float32Array.from([0.1, 1e16, 1e-7, 100, -0, 1.5, 3.4028234663852886e38, 16777217, 2 ** -149]),
    );
    expect(spellValues(v)).toEqual(['0.1', '1e+16', '1e-7', '100', '-0', '1.5', '3.4028235e+38', '16777216', '1e-45']);
  });

  it("float64: the double's shortest digits, decimal from 1e-6 to below 1e10", () => {
    const v = arrow.makeVector(
      Float64Array.from([0.1, 1e16, 123456789.5, 1e-7, 0.000001, 1e10, 9999999999, 5e-324, -2.5, NaN, -Infinity]),
    );
    expect(spellValues(v)).toEqual([
      '0.1',
      '1e+16',
      '123456789.5',
      '1e-7',
      '0.000001',
      '1e+10',
      '9999999999',
      '5e-324',
      '-2.5',
      'nan',
      '-inf',
    ]);
  });

  it('float16: the double it widens to', () => {
    const v = arrow.makeVector(
      arrow.makeData({
        type: new arrow.Float16(),
        length: 3,
        nullCount: 0,
        data: Uint16Array.from([0x2e66, 0x7bff, 1]),
      }),
    );
    expect(spellValues(v)).toEqual(['0.0999755859375', '65504', '5.960464477539063e-8']);
  });

  it('integers, booleans, decimals and nulls', () => {
    expect(spellValues(arrow.vectorFromArray([2n ** 63n - 1n, -5n, null], new arrow.Int64()))).toEqual([
      '9223372036854775807',
      '-5',
      null,
    ]);
    expect(spellValues(arrow.vectorFromArray([true, false], new arrow.Bool()))).toEqual(['true', 'false']);
    expect(spellValues(decimalVector([451300n, -7n, 0n], 10, 4))).toEqual(['45.1300', '-0.0007', '0.0000']);
    expect(spellValues(decimalVector([-123n, 1n], 10, 9))).toEqual(['-1.23E-7', '1E-9']);
  });
});

describe('spellValues: found by the generative test', () => {
  it('float32 whose two nearest shortest spellings are equally near: the even one, as pyarrow', () => {
    // pyarrow 26: pa.array(np.float32([2584465.25, -1222377.25])).cast(pa.string()) gives these.
    const v = arrow.makeVector(Float32Array.from([2584465.25, -1222377.25, 3338760.25]));
    expect(spellValues(v)).toEqual(['2584465.2', '-1222377.2', '3338760.2']);
  });

  it('a dictionary slice spells the slice’s own rows', () => {
    const v = arrow.makeVector(
      arrow.makeData({
        type: new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
        length: 4,
        nullCount: 0,
        data: Int32Array.from([2, 0, 1, 1]),
        dictionary: arrow.vectorFromArray(['a', 'b', 'c']),
      }),
    );
    expect(spellValues(v.slice(1))).toEqual(['a', 'b', 'b']);
  });
});
