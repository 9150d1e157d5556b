import { describe, expect, it } from 'vitest';
import { decimalVector, float64Dictionary } from '../../../test/support/arrowTypes.js';
import { numericValues } from './numericValues.js';

/**
 * A batch whose quarantined rows were split off reaches the model as slices (splitInvalidRows): arrow-js slices a
 * column's value buffer to the slice's first row, while `offset` still counts from the original's (it places the
 * validity bits). Found by the generative test: a decimal column after a quarantined row was read shifted, past its
 * end (TypeError, exit 70) or silently (the next row's value fed to the model).
 */
describe('numericValues of a slice reads the slice’s own rows', () => {
  it('decimal (128 and 256 bits)', () => {
    for (const bits of [128, 256] as const) {
      const v = decimalVector([100n, -250n, 4513n, 7n], 10, 2, bits);
      expect([...numericValues(v.slice(1))]).toEqual([-2.5, 45.13, 0.07]);
      expect([...numericValues(v.slice(2, 3))]).toEqual([45.13]);
    }
  });

  it('decimal past 2^53 (through its digits)', () => {
    const v = decimalVector([1n, 2n ** 70n + 1n, -(2n ** 80n)], 38, 0);
    expect([...numericValues(v.slice(1))]).toEqual([2 ** 70, -(2 ** 80)]);
  });

  it('dictionary', () => {
    const v = float64Dictionary([10, 11, 12], [2, 0, 1, 1]);
    expect([...numericValues(v.slice(1))]).toEqual([10, 11, 11]);
    expect([...numericValues(v.slice(3))]).toEqual([11]);
  });
});
