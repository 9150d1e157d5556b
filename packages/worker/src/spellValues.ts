import * as arrow from 'apache-arrow';

type FloatBits = 32 | 64;

/**
 * Pure: a column's values as pyarrow's cast to string spells them (checked against pyarrow 26), so a model that
 * takes a tensor(string) sees the category a pipeline built on pyarrow would (a float32 0.1 is "0.1", not
 * "0.10000000149011612"). Floats: the shortest digits that read back as the same value of the column's type
 * (float32, or double; a half as the double it widens to: 0.0999755859375), laid out as Arrow's formatter
 * (double-conversion: decimal notation for exponents -6 to 9, else "1e+10"; "nan", "inf"); integers in decimal;
 * booleans "true"/"false"; decimals as Arrow's Decimal ToString ("45.13", "-1.23E-7"); strings as they are. Null
 * stays null.
 */
export function spellValues(vec: arrow.Vector): (string | null)[] {
  const t = vec.type;
  const out = new Array<string | null>(vec.length);
  if (arrow.DataType.isDictionary(t)) {
    let row = 0;
    for (const d of vec.data) {
      const dict = spellValues(arrow.makeVector(d.dictionary!));
      const idx = d.values as ArrayLike<number | bigint>;
      // arrow-js slices the index buffer to a slice's first row (its offset only places the validity bits).
      for (let i = 0; i < d.length; i++, row++) out[row] = d.getValid(i) ? dict[Number(idx[i])]! : null;
    }
    return out;
  }
  const spell = spellerOf(t);
  for (let i = 0; i < vec.length; i++) {
    const v = vec.get(i) as unknown;
    out[i] = v === null || v === undefined ? null : spell(v);
  }
  return out;
}

function spellerOf(t: arrow.DataType): (v: unknown) => string {
  if (arrow.DataType.isFloat(t)) {
    // pyarrow spells a half as the double it widens to (0.0999755859375), a float32 in its own shortest digits.
    const bits: FloatBits = t.precision === arrow.Precision.SINGLE ? 32 : 64;
    return (v) => spellFloat(Number(v), bits);
  }
  if (arrow.DataType.isBool(t)) return (v) => (v ? 'true' : 'false');
  if (arrow.DataType.isDecimal(t)) return (v) => spellDecimal(decimalInteger(v, t.bitWidth), t.scale);
  return (v) => (typeof v === 'string' ? v : String(v));
}

/** Pure: a float of the given width spelled as Arrow's FloatToStringFormatter spells it. */
export function spellFloat(x: number, bits: FloatBits): string {
  if (x !== x) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0`;
  const { digits, exp } = shortestDigits(Math.abs(x), bits);
  if (exp < -6 || exp >= 10) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${Math.abs(exp)}`;
  }
  const point = exp + 1;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * The shortest significant digits that read back as x (> 0, finite) in its own width, and the decimal exponent of
 * the first: x ≈ d.ddd × 10^exp. Among the shortest, the nearest to x (as double-conversion picks). For a double,
 * V8's own shortest form (toExponential() is double-conversion's). For float32: each precision's
 * correctly rounded digits, or the neighbour on x's other side when those fall just outside x's rounding interval.
 */
function shortestDigits(x: number, bits: FloatBits): { digits: string; exp: number } {
  if (bits === 64) return parseExponential(x.toExponential());
  for (let p = 1; p <= 17; p++) {
    const nearest = parseExponential(x.toExponential(p - 1));
    if (readsBackAs(nearest, x)) {
      // x exactly halfway between two p-digit decimals: toExponential takes the larger, double-conversion (and so
      // pyarrow) the even one (float32 2584465.25 is "2584465.2").
      const other = halfwayOther(x, p);
      return other && readsBackAs(other, x) ? other : nearest;
    }
    const other = stepDigits(nearest, toNumber(nearest) < x ? 1 : -1);
    if (other && readsBackAs(other, x)) return other;
  }
  return parseExponential(x.toExponential());
}

/**
 * When x lies exactly halfway between two p-digit decimals and toExponential(p - 1) gave the odd one of them (it
 * rounds ties away from zero), the even one; else undefined.
 */
function halfwayOther(x: number, p: number): { digits: string; exp: number } | undefined {
  const [mant, e] = x.toExponential(p - 1).split('e') as [string, string];
  const d = BigInt(mant.replace('.', ''));
  if (d % 2n === 0n) return undefined;
  // The halfway point below d: (10d - 5) × 10^(exp - p), as digits with the exponent of its first digit.
  const mid = (10n * d - 5n).toString();
  if (compareDecimal({ digits: mid, exp: Number(e) - p + mid.length - 1 }, x) !== 0) return undefined;
  return stepDigits(parseExponential(x.toExponential(p - 1)), -1);
}

function parseExponential(s: string): { digits: string; exp: number } {
  const [mant, e] = s.split('e') as [string, string];
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  return { digits, exp: Number(e) };
}

function toNumber(d: { digits: string; exp: number }): number {
  return Number(`${d.digits[0]}.${d.digits.slice(1)}e${d.exp}`);
}

/** The same number of digits, one unit of the last digit up or down; undefined where that changes the length. */
function stepDigits(d: { digits: string; exp: number }, by: 1 | -1): { digits: string; exp: number } | undefined {
  const n = BigInt(d.digits) + BigInt(by);
  const s = n.toString();
  if (n <= 0n || s.length !== d.digits.length) return undefined;
  return { digits: s.replace(/0+$/, '') || '0', exp: d.exp };
}

/**
 * Whether a decimal rounds to the float32 x (to nearest, ties to even). Through the nearest double first, which
 * decides every case but one: a double that is exactly a tie between two float32 neighbours,
 * where the decimal's own side of it is compared exactly.
 */
function readsBackAs(d: { digits: string; exp: number }, x: number): boolean {
  const dbl = toNumber(d);
  const r = Math.fround(dbl);
  if (r === dbl) return r === x;
  const lo = r < dbl ? r : neighbour(r, -1);
  const hi = r < dbl ? neighbour(r, 1) : r;
  if ((lo + hi) / 2 !== dbl) return r === x;
  const side = compareDecimal(d, dbl);
  return (side > 0 ? hi : side < 0 ? lo : r) === x;
}

/** The next float32 above (1) or below (-1) a finite positive float32. */
function neighbour(r: number, dir: 1 | -1): number {
  const f = new Float32Array([r]);
  const u = new Uint32Array(f.buffer);
  u[0]! += dir;
  return f[0]!;
}

/** The sign of (decimal - double), computed exactly with integers. */
function compareDecimal(d: { digits: string; exp: number }, dbl: number): number {
  // decimal = D × 10^q; double = M × 2^E.
  let D = BigInt(d.digits);
  const q = d.exp - (d.digits.length - 1);
  const f = new Float64Array([dbl]);
  const u = new Uint32Array(f.buffer);
  const bexp = (u[1]! >>> 20) & 0x7ff;
  let M = (BigInt(u[1]! & 0xfffff) << 32n) | BigInt(u[0]!);
  const E = bexp === 0 ? -1074 : bexp - 1075;
  if (bexp !== 0) M |= 1n << 52n;
  if (q >= 0) D *= 10n ** BigInt(q);
  else M *= 10n ** BigInt(-q);
  if (E >= 0) M <<= BigInt(E);
  else D <<= BigInt(-E);
  return D > M ? 1 : D < M ? -1 : 0;
}

/** Arrow's Decimal ToString: the unscaled integer with the point inserted, or scientific when scale < 0 or tiny. */
export function spellDecimal(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString();
  const sign = neg ? '-' : '';
  if (scale === 0) return sign + digits;
  const adjusted = digits.length - 1 - scale;
  if (scale < 0 || adjusted < -6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
  }
  if (digits.length > scale) return `${sign}${digits.slice(0, digits.length - scale)}.${digits.slice(-scale)}`;
  return `${sign}0.${'0'.repeat(scale - digits.length)}${digits}`;
}

/** arrow-js hands a decimal out as its little-endian 32-bit words; as one signed integer. */
function decimalInteger(v: unknown, bitWidth: number): bigint {
  const w = v as Uint32Array;
  let u = 0n;
  for (let k = bitWidth / 32 - 1; k >= 0; k--) u = (u << 32n) | BigInt(w[k]!);
  return BigInt.asIntN(bitWidth, u);
}
