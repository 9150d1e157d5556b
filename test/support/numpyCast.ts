/**
 * A small, independent reference of numpy's astype for one value, as batchscore promises to feed models
 * (README, Guarantees): written apart from the worker's code (exact rational rounding with BigInt, no shared
 * helpers), so the two can be checked against each other. NaN, infinities and nulls are quarantined by other
 * rules and are not inputs here.
 */
export type SourceValue =
  | { int: bigint } // an integer source (int8..uint64, or an integer written in text)
  | { float: number } // a float source, as the double it holds (float16/32 values are exact doubles)
  | { bool: boolean };

export type Cast = { value: number | bigint | boolean } | { quarantined: true };

export const INT_DTYPES: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 4294967295n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** float16: 11 significant bits, normals from 2^-14, infinity from 2^16; float32: 24, 2^-126, 2^128. */
const FLOATS: Record<string, { bits: number; emin: number; overflow: number }> = {
  float16: { bits: 11, emin: -14, overflow: 16 },
  float32: { bits: 24, emin: -126, overflow: 128 },
  float64: { bits: 53, emin: -1022, overflow: 1024 },
};

export function numpyCast(src: SourceValue, dtype: string): Cast {
  if ('bool' in src) return numpyCast({ int: src.bool ? 1n : 0n }, dtype);
  if (dtype === 'bool') return { value: 'int' in src ? src.int !== 0n : src.float !== 0 };
  const range = INT_DTYPES[dtype];
  if (range) {
    // Floats truncate toward zero; outside the range numpy wraps or is undefined: batchscore quarantines.
    const v = 'int' in src ? src.int : BigInt(Math.trunc(src.float));
    return v >= range[0] && v <= range[1] ? { value: v } : { quarantined: true };
  }
  const f = FLOATS[dtype]!;
  const [p, k] = 'int' in src ? [src.int, 0] : exactBinary(src.float);
  const r = roundToFloat(p, k, f.bits, f.emin);
  if (r.exp2 >= f.overflow) return { quarantined: true };
  const neg = p < 0n || ('float' in src && Object.is(src.float, -0));
  const mag = Number(r.units) * 2 ** r.step;
  // An integer 0 is +0 (numpy casts the int 0 to 0.0); a float keeps its sign.
  return { value: neg ? -mag : mag };
}

/** A double as p / 2^k exactly (p an integer). */
function exactBinary(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (exp !== 0) mant |= 1n << 52n;
  const e = (exp === 0 ? 1 : exp) - 1075; // x = mant × 2^e
  const signed = bits >> 63n ? -mant : mant;
  return e >= 0 ? [signed << BigInt(e), 0] : [signed, -e];
}

/**
 * |p| / 2^k rounded to `bits` significant bits (ties to even), with exponents below `emin` subnormal: the result is
 * units × 2^step; exp2 is the exponent of its leading bit (for the overflow check).
 */
function roundToFloat(p: bigint, k: number, bits: number, emin: number): { units: bigint; step: number; exp2: number } {
  const a = p < 0n ? -p : p;
  if (a === 0n) return { units: 0n, step: 0, exp2: -Infinity };
  const lead = a.toString(2).length - 1 - k;
  const step = Math.max(lead, emin) - (bits - 1);
  // units = a / 2^(k + step), rounded
  const shift = k + step;
  let units: bigint;
  if (shift <= 0) units = a << BigInt(-shift);
  else {
    const s = BigInt(shift);
    units = a >> s;
    const rem = a - (units << s);
    const half = 1n << (s - 1n);
    if (rem > half || (rem === half && (units & 1n) === 1n)) units += 1n;
  }
  return { units, step, exp2: units === 0n ? -Infinity : units.toString(2).length - 1 + step };
}
