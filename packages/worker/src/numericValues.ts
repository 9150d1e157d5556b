import * as arrow from 'apache-arrow';
import { BatchscoreError } from '@batchscore/core';

export type Numbers =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A numeric column's values as one typed array, the way the model and validation must see them: ints and floats
 * as stored (no copy), decimals scaled by 10^scale (arrow-js hands out the unscaled integer: 45.13 as 4513),
 * dictionaries decoded into their values' own type (an int64 dictionary stays exact), booleans as 0/1. A null
 * reads as NaN (0 in an integer array); callers check validity for themselves.
 */
export function numericValues(vec: arrow.Vector): Numbers {
  const t = vec.type;
  if (arrow.DataType.isFloat(t) && t.precision === arrow.Precision.HALF) return generic(vec, (v) => Number(v));
  if (arrow.DataType.isFloat(t) || arrow.DataType.isInt(t)) return vec.toArray() as Numbers;
  if (arrow.DataType.isDecimal(t)) return decimals(vec as arrow.Vector<arrow.Decimal>);
  if (arrow.DataType.isDictionary(t)) {
    // Rows pick values of the (small) dictionary: decode it once, then index it.
    let out: Numbers | undefined;
    let row = 0;
    for (const d of vec.data) {
      const dict = numericValues(d.dictionary!);
      out ??= new (dict.constructor as new (n: number) => Numbers)(vec.length);
      const o = out as Float64Array;
      const from = dict as Float64Array;
      const empty =
        dict instanceof Float64Array || dict instanceof Float32Array
          ? NaN
          : dict instanceof BigInt64Array || dict instanceof BigUint64Array
            ? 0n
            : 0;
      // arrow-js slices the index buffer to a slice's first row (its offset only places the validity bits).
      const idx = d.values as ArrayLike<number | bigint>;
      for (let i = 0; i < d.length; i++, row++)
        o[row] = d.getValid(i) ? from[Number(idx[i])]! : (empty as unknown as number);
    }
    return out ?? new Float64Array(0);
  }
  if (arrow.DataType.isBool(t)) return generic(vec, (v) => (v ? 1 : 0));
  throw new BatchscoreError(
    'INTERNAL',
    `a column of type ${String(t)} reached the model; the plan admits only numeric feature columns`,
  );
}

function generic(vec: arrow.Vector, toNumber: (v: unknown) => number): Float64Array {
  const out = new Float64Array(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const v = vec.get(i);
    out[i] = v === null ? NaN : toNumber(v);
  }
  return out;
}

const TWO_32 = 4294967296;

/**
 * Decimal (32, 64, 128 or 256 bits) → float64, correctly rounded: value / 10^scale. An unscaled value under 2^53
 * and a power of ten up to 10^22 are both exact doubles, so one division rounds once; anything larger goes
 * through the decimal string, which Number() also rounds once. Words are little-endian two's complement.
 */
function decimals(vec: arrow.Vector<arrow.Decimal>): Float64Array {
  const { scale, bitWidth } = vec.type;
  const words = bitWidth / 32;
  const out = new Float64Array(vec.length);
  const pow = 10 ** Math.abs(scale);
  const exactPow = Math.abs(scale) <= 22;
  let row = 0;
  for (const d of vec.data) {
    const w = d.values as unknown as Uint32Array;
    for (let i = 0; i < d.length; i++, row++) {
      if (!d.getValid(i)) {
        out[row] = NaN;
        continue;
      }
      // The words start at the data's first row: arrow-js slices the buffer (offset only places validity bits).
      const at = i * words;
      const lo = w[at]!;
      // The high word as signed; every word above it must be its sign extension for the fast path.
      const hi = words === 1 ? (lo | 0) >> 31 : w[at + 1]! | 0;
      let small = words === 1 || (hi >= -0x200000 && hi < 0x200000);
      const ext = hi < 0 ? 0xffffffff : 0;
      for (let k = 2; small && k < words; k++) small = w[at + k] === ext;
      if (small && exactPow) {
        const n = words === 1 ? lo | 0 : hi * TWO_32 + lo;
        out[row] = scale >= 0 ? n / pow : n * pow;
        continue;
      }
      let u = 0n;
      for (let k = words - 1; k >= 0; k--) u = (u << 32n) | BigInt(w[at + k]!);
      out[row] = Number(`${BigInt.asIntN(bitWidth, u)}e${-scale}`);
    }
  }
  return out;
}
