import type { InputDType } from './inputDTypes.js';

export type NumericDType = Exclude<InputDType, 'string'>;

/**
 * Integer dtypes' ranges, [min, max + 1): both ends are powers of two (or 0), so exact as doubles too. A value
 * whose truncation toward zero (numpy's float → int cast) falls outside is not representable.
 */
export const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int8: [-(2n ** 7n), 2n ** 7n],
  int16: [-(2n ** 15n), 2n ** 15n],
  int32: [-(2n ** 31n), 2n ** 31n],
  int64: [-(2n ** 63n), 2n ** 63n],
  uint8: [0n, 2n ** 8n],
  uint16: [0n, 2n ** 16n],
  uint32: [0n, 2n ** 32n],
  uint64: [0n, 2n ** 64n],
};
const INT_BOUNDS: Readonly<Record<string, readonly [number, number]>> = Object.fromEntries(
  Object.entries(INT_RANGES).map(([k, [lo, hi]]) => [k, [Number(lo), Number(hi)]]),
);

/**
 * The smallest magnitude each float dtype rounds to infinity: the midpoint between its largest finite value and
 * the next power of two, which ties to even, and so to infinity (float32: 2^128 - 2^103; float16: 65520).
 */
export const FLOAT_OVERFLOW: Readonly<Record<string, number>> = {
  float16: 65520,
  float32: 2 ** 128 - 2 ** 103,
  float64: Infinity,
};
const FLOAT_OVERFLOW_BIG: Readonly<Record<string, bigint>> = {
  float16: 65520n,
  float32: 2n ** 128n - 2n ** 103n,
  float64: 2n ** 1024n - 2n ** 970n,
};

/**
 * Pure: whether numpy's astype(dtype) gives a finite value x exactly as its rule says, rather than an infinity
 * (a float that overflows) or a wrapped or undefined integer (a value whose truncation is out of range). Every
 * finite value fits float64 and bool.
 */
export function representable(x: number, dtype: NumericDType): boolean {
  const inf = FLOAT_OVERFLOW[dtype];
  if (inf !== undefined) return Math.abs(x) < inf;
  const b = INT_BOUNDS[dtype];
  if (!b) return true; // bool
  const t = Math.trunc(x);
  return t >= b[0] && t < b[1];
}

/** Pure: representable for an exact integer (an int64/uint64 column, or a text reader's integer past 2^53). */
export function representableBig(v: bigint, dtype: NumericDType): boolean {
  const inf = FLOAT_OVERFLOW_BIG[dtype];
  if (inf !== undefined) return (v < 0n ? -v : v) < inf;
  const r = INT_RANGES[dtype];
  return !r || (v >= r[0] && v < r[1]);
}

/**
 * Pure: whether every value from `min` to `max` (finite) is representable: a column's extremes settle the
 * common case in one comparison, so only a column that holds an outlier is looked at value by value.
 */
export function allRepresentable(min: number, max: number, dtype: NumericDType): boolean {
  return representable(min, dtype) && representable(max, dtype);
}
