import { describe, expect, it } from 'vitest';
import { toFloat16 } from './toFloat16.js';

describe('toFloat16', () => {
  it('rounds to nearest, ties to even, as numpy does; overflows to infinity, underflows to zero', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65519, 0x7bff], // below the midpoint to the next step (65536): down
      [65520, 0x7c00], // the midpoint: ties to even, which is infinity
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // the smallest subnormal
      [2 ** -25, 0x0000], // half of it: a tie, to even (zero)
      [3 * 2 ** -25, 0x0002], // 1.5 steps: a tie, to even (2)
      [2 ** -14, 0x0400], // the smallest normal
      [1 + 2 ** -11, 0x3c00], // a tie between 1 and the next half: to even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // a tie between 1+2^-10 and 1+2^-9: to even
      [0, 0x0000],
      [-0, 0x8000],
      // Rounded once from the double, as numpy's npy_doublebits_to_halfbits: through float32 first, 2^-40 would be
      // lost and the tie that is left would go to even (1, 0x3c00).
      [1 + 2 ** -11 + 2 ** -40, 0x3c01],
      [2 ** -25 + 2 ** -60, 0x0001],
      [65519.99999999999, 0x7bff],
      [2048 + 1, 0x6800], // integers: 2049 is a tie between 2048 and 2050, to even
      [2048 + 3, 0x6802],
      [-65504, 0xfbff],
      [2 ** -14 - 2 ** -25, 0x0400], // the largest subnormal's midpoint with the smallest normal: to even (normal)
      [5e-324, 0x0000],
      [-1e-300, 0x8000],
    ];
    expect(cases.map(([v]) => toFloat16(v))).toEqual(cases.map(([, h]) => h));
    expect(toFloat16(NaN) & 0x7c00).toBe(0x7c00);
    expect(toFloat16(NaN) & 0x3ff).not.toBe(0);
  });
});
