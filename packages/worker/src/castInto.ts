import { bigintToFloat32 } from './bigintToFloat32.js';
import type { Numbers } from './numericValues.js';
import type { NumericDType } from './representable.js';
import { toFloat16 } from './toFloat16.js';

/** A tensor's buffer: the typed arrays a numeric column's values come in (Numbers) are the ones onnxruntime takes. */
export type InputArray = Numbers;

/** A tensor's buffer for `n` values of a dtype, as onnxruntime-node takes it (float16 as bits, bool as bytes). */
export function allocInput(dtype: NumericDType, n: number): InputArray {
  switch (dtype) {
    case 'float16':
    case 'uint16':
      return new Uint16Array(n);
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'uint64':
      return new BigUint64Array(n);
  }
}

/**
 * Writes a column's values into column `j` of a row-major [rows, k] tensor buffer, cast as numpy's astype(dtype)
 * casts them: floats rounded once to nearest (ties to even), integers to floats rounded once, floats to integers
 * truncated toward zero, anything to bool as `!= 0`. Values it would overflow, wrap or leave undefined must have
 * been quarantined before (findInvalidRows, with `representable`): here every value fits. `exact` holds a text
 * reader's integers past 2^53 by row, whose double in `src` is only their nearest.
 */
export function castInto(
  out: InputArray,
  src: Numbers,
  j: number,
  k: number,
  rows: number,
  dtype: NumericDType,
  exact?: ReadonlyMap<number, bigint>,
): void {
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    castBigints(out, src, j, k, rows, dtype);
    return;
  }
  const s = src as Float64Array;
  if (dtype === 'float16') {
    const o = out as Uint16Array;
    for (let i = 0; i < rows; i++) o[i * k + j] = toFloat16(s[i]!);
  } else if (dtype === 'bool') {
    const o = out as Uint8Array;
    for (let i = 0; i < rows; i++) o[i * k + j] = s[i] !== 0 ? 1 : 0;
  } else if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < rows; i++) out[i * k + j] = BigInt(Math.trunc(s[i]!));
  } else if (k === 1 && s.length >= rows) {
    // Typed-array stores round to float32 once (to nearest, ties to even) and truncate in-range values toward zero
    // into integer arrays, as numpy's casts do.
    (out as Float64Array).set(s.length === rows ? s : s.subarray(0, rows));
  } else {
    const o = out as Float64Array;
    for (let i = 0; i < rows; i++) o[i * k + j] = s[i]!;
  }
  if (exact) for (const [i, v] of exact) if (i < rows) setBig(out, i * k + j, v, dtype);
}

function castBigints(
  out: InputArray,
  s: BigInt64Array | BigUint64Array,
  j: number,
  k: number,
  rows: number,
  dtype: NumericDType,
) {
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < rows; i++) out[i * k + j] = s[i]!;
    return;
  }
  for (let i = 0; i < rows; i++) setBig(out, i * k + j, s[i]!, dtype);
}

function setBig(out: InputArray, at: number, v: bigint, dtype: NumericDType) {
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[at] = v;
  else if (dtype === 'bool') out[at] = v !== 0n ? 1 : 0;
  else if (dtype === 'float32') out[at] = bigintToFloat32(v);
  // Past 2^53 only float64 (one rounding: Number) takes such a value; below, Number is exact.
  else if (dtype === 'float16') out[at] = toFloat16(Number(v));
  else out[at] = Number(v);
}
