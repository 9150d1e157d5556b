const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Pure: the IEEE half-precision bits of a number, as numpy's astype(float16) gives them from a float64
 * (npy_doublebits_to_halfbits): rounded once, to nearest, ties to even; past 65504 (after rounding) infinity, below
 * 2^-25 zero, NaN stays NaN. Not through float32 first: that rounds twice (1 + 2^-11 + 2^-40 would become 1, not
 * 1 + 2^-10). Integers and float32 values are exact doubles, so the same function casts them as numpy does too.
 */
export function toFloat16(v: number): number {
  f64[0] = v;
  const hi = u32[1]!;
  const sign = (hi >>> 16) & 0x8000;
  const exp = ((hi >>> 20) & 0x7ff) - 1023;
  const a = Math.abs(v);
  if (a !== a) return sign | 0x7e00;
  if (a >= 65520) return sign | 0x7c00; // 65520 is the midpoint above 65504: ties to even, which is infinity
  if (exp < -14) {
    // A subnormal half (or zero): the value in units of 2^-24, rounded; 1024 units carry into the smallest normal.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  // A normal half: 10 bits below the leading one. Scaling by a power of two is exact.
  const m = roundHalfEven(a * 2 ** (10 - exp));
  // A carry out of the significand (m = 2048) moves into the exponent, as it should.
  return sign | (((exp + 15) << 10) + (m - 1024));
}

/** x ≥ 0 rounded to an integer, ties to even. x - floor(x) is exact for the x here (below 2^12). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** Pure: the number half-precision bits hold (every half is exactly a double). */
export function fromFloat16(h: number): number {
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  const mag = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (1024 + mant) * 2 ** (exp - 25);
  return h & 0x8000 ? -mag : mag;
}
