import * as arrow from 'apache-arrow';
import { BatchscoreError } from '@batchscore/core';

/**
 * Pure: row `i` of a partition column as the text of its folder, as Hive and Spark spell it so that DuckDB, polars
 * and Spark read the folder back as the same value: integers and decimals in full (no float rounding), dates as
 * YYYY-MM-DD, timestamps and times to their last digit (UTC), booleans as true/false, null as null (the folder
 * then is __HIVE_DEFAULT_PARTITION__). Types a folder name cannot hold (binary, lists, structs) are refused.
 */
export function partitionValue(v: arrow.Vector, column: string, i: number): string | null {
  let at = i;
  let d = v.data[0]!;
  for (d of v.data) {
    if (at < d.length) break;
    at -= d.length;
  }
  if (!d.getValid(at)) return null;
  const t = d.type;
  // The stored integer: `get` would round 64-bit times through a JavaScript number.
  const raw = () => (d.values as unknown as ArrayLike<number | bigint>)[at]!;
  if (arrow.DataType.isDictionary(t)) return partitionValue(d.dictionary!, column, Number(raw()));
  if (arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t)) return v.get(i) as string;
  if (arrow.DataType.isBool(t)) return v.get(i) ? 'true' : 'false';
  if (arrow.DataType.isInt(t)) return String(raw());
  if (arrow.DataType.isFloat(t)) return floatText(v.get(i) as number, t.precision);
  if (arrow.DataType.isDecimal(t)) return decimalText(d.values as Uint32Array, at * d.stride, d.stride, t.scale);
  if (arrow.DataType.isDate(t))
    return civilDate(t.unit === arrow.DateUnit.DAY ? BigInt(raw()) : floorDiv(BigInt(raw()), 86_400_000n));
  if (arrow.DataType.isTimestamp(t)) {
    const per = UNITS[t.unit];
    const ticks = BigInt(raw());
    const days = floorDiv(ticks, per * 86_400n);
    return `${civilDate(days)} ${clock(ticks - days * per * 86_400n, per)}`;
  }
  if (arrow.DataType.isTime(t)) return clock(BigInt(raw()), UNITS[t.unit]);
  throw new BatchscoreError(
    'INPUT_INVALID',
    `spec.output.partitionBy column ${JSON.stringify(column)} is ${String(t)}; a partition folder holds ` +
      `strings, numbers, booleans, dates, times or timestamps`,
  );
}

const UNITS: Record<arrow.TimeUnit, bigint> = {
  [arrow.TimeUnit.SECOND]: 1n,
  [arrow.TimeUnit.MILLISECOND]: 1_000n,
  [arrow.TimeUnit.MICROSECOND]: 1_000_000n,
  [arrow.TimeUnit.NANOSECOND]: 1_000_000_000n,
};

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** HH:MM:SS, and the fraction of a second without trailing zeros, of `ticks` (per second: `per`) since midnight. */
function clock(ticks: bigint, per: bigint): string {
  const secs = ticks / per;
  const frac = ticks % per;
  const two = (n: bigint) => String(n).padStart(2, '0');
  const hms = `${two(secs / 3600n)}:${two((secs / 60n) % 60n)}:${two(secs % 60n)}`;
  if (frac === 0n) return hms;
  return `${hms}.${String(frac)
    .padStart(String(per).length - 1, '0')
    .replace(/0+$/, '')}`;
}

/** YYYY-MM-DD of a day count since 1970-01-01, proleptic Gregorian, for any year (H. Hinnant's civil_from_days). */
function civilDate(days: bigint): string {
  const z = days + 719_468n;
  const era = floorDiv(z, 146_097n);
  const doe = z - era * 146_097n;
  const yoe = (doe - doe / 1460n + doe / 36_524n - doe / 146_096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  const year = y < 0n ? `-${String(-y).padStart(4, '0')}` : String(y).padStart(4, '0');
  return `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The shortest decimal that reads back as the same float of this precision (a float32 0.1 is "0.1"). */
function floatText(x: number, precision: arrow.Precision): string {
  if (precision === arrow.Precision.DOUBLE || !Number.isFinite(x)) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

/** A decimal's exact digits: its unscaled two's-complement integer (32-bit words, low first), point put back. */
function decimalText(words: Uint32Array, from: number, count: number, scale: number): string {
  let unscaled = 0n;
  for (let w = count - 1; w >= 0; w--) unscaled = (unscaled << 32n) | BigInt(words[from + w]!);
  unscaled = BigInt.asIntN(count * 32, unscaled);
  const neg = unscaled < 0n;
  const digits = String(neg ? -unscaled : unscaled).padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return neg ? `-${text}` : text;
}
