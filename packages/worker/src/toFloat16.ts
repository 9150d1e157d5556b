const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Pure: the IEEE half-precision bits of a number, as onnxruntime converts a float to MLFloat16: first to float32,
 * then rounded to nearest, ties to even; past 65504 (after rounding) infinity, below 2^-25 zero, NaN stays NaN.
 */
export function toFloat16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A subnormal half: the whole significand shifted down, rounded to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const q = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rem > mid || (rem === mid && q & 1) ? q + 1 : q);
  }
  const h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the significand moves into the exponent, as it should (up to infinity).
  return sign | (rem > 0x1000 || (rem === 0x1000 && h & 1) ? h + 1 : h);
}
