/**
 * A small, independent reference of how pyarrow's cast to string spells numbers (what batchscore promises a
 * tensor(string) input gets, docs/guarantees.md): written from the rules, apart from the worker's spellValues.ts
 * (exact rational arithmetic with BigInt, no shared helpers), so the two can be checked against each other.
 */

/**
 * A float spelled as pyarrow spells it: the shortest digits that read back as the same value of its width (a
 * half as the double it widens to), decimal notation for decimal exponents -6 to 9, else `d.ddde+XX`; `-0`, `nan`,
 * `inf`, `-inf`.
 */
export function spellFloatRef(x: number, width: 16 | 32 | 64): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0`;
  const [digits, exp] = shortest(Math.abs(x), width === 32 ? 24 : 53, width === 32 ? -126 : -1022);
  if (exp < -6 || exp > 9) {
    const mant = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${Math.abs(exp)}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** Arrow's decimal spelling: the unscaled digits with the point put back at `scale`, every digit kept. */
export function spellDecimalRef(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString();
  const sign = neg ? '-' : '';
  const adjusted = digits.length - 1 - scale;
  // Arrow switches to scientific notation (an upper-case E) below an adjusted exponent of -6, and for negative scales.
  if (scale < 0 || adjusted < -6) {
    const mant = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    return `${sign}${mant}E${adjusted < 0 ? '-' : '+'}${Math.abs(adjusted)}`;
  }
  if (scale === 0) return sign + digits;
  const padded = digits.padStart(scale + 1, '0');
  return `${sign}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** x (> 0) as an exact fraction n / d. */
function fraction(x: number): [bigint, bigint] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const e = Number((bits >> 52n) & 0x7ffn);
  const m = (bits & ((1n << 52n) - 1n)) | (e === 0 ? 0n : 1n << 52n);
  const p = (e === 0 ? 1 : e) - 1075;
  return p >= 0 ? [m << BigInt(p), 1n] : [m, 1n << BigInt(-p)];
}

/**
 * Whether the decimal n/d rounds (to nearest, ties to even) to the binary float x of `bits` significant bits with
 * normals from 2^emin: it does when it lies inside x's rounding interval (its ends count when x's last bit is even).
 */
function roundsTo(n: bigint, d: bigint, x: number, bits: number, emin: number): boolean {
  const [xn, xd] = fraction(x);
  // The exponent of x's leading bit, exactly (Math.log2 rounds up to 1024 just below 2^1024); xd is a power of two.
  const lead = xn.toString(2).length - xd.toString(2).length;
  const exp = Math.max(lead, emin);
  // The ulp of x, and below a power of two (not at the subnormal floor) the gap down is half as wide.
  const ulpExp = exp - (bits - 1);
  const up = ulpExp >= 0 ? [1n << BigInt(ulpExp), 1n] : [1n, 1n << BigInt(-ulpExp)];
  const down = x === 2 ** lead && lead > emin ? [up[0]!, up[1]! * 2n] : up;
  // lo = x - down/2, hi = x + up/2, as fractions compared against n/d.
  const cmp = (an: bigint, ad: bigint, bn: bigint, bd: bigint) => (an * bd > bn * ad ? 1 : an * bd < bn * ad ? -1 : 0);
  const loN = xn * down[1]! * 2n - down[0]! * xd;
  const loD = xd * down[1]! * 2n;
  const hiN = xn * up[1]! * 2n + up[0]! * xd;
  const hiD = xd * up[1]! * 2n;
  const units = (xn * up[1]!) / (xd * up[0]!);
  const even = units % 2n === 0n;
  const a = cmp(n, d, loN, loD);
  const b = cmp(n, d, hiN, hiD);
  return (a > 0 || (a === 0 && even)) && (b < 0 || (b === 0 && even));
}

/** The shortest decimal digits reading back as x, the nearest of them to x: [digits, decimal exponent]. */
function shortest(x: number, bits: number, emin: number): [string, number] {
  const [xn, xd] = fraction(x);
  let e10 = Math.floor(Math.log10(x));
  // log10 may be off by one near powers of ten: settle it exactly.
  const pow = (k: number): [bigint, bigint] => (k >= 0 ? [10n ** BigInt(k), 1n] : [1n, 10n ** BigInt(-k)]);
  const ge = (k: number) => {
    const [pn, pd] = pow(k);
    return xn * pd >= pn * xd;
  };
  while (!ge(e10)) e10--;
  while (ge(e10 + 1)) e10++;
  for (let p = 1; p <= 17; p++) {
    // Candidates: the p-digit decimals just below and above x: D × 10^(e10 - p + 1).
    const [sn, sd] = pow(p - 1 - e10); // x × 10^(p-1-e10) = xn·sn / (xd·sd)
    const scaledN = xn * sn;
    const scaledD = xd * sd;
    const lo = scaledN / scaledD;
    const cands = scaledN % scaledD === 0n ? [lo] : [lo, lo + 1n];
    const ok = cands.filter((D) => {
      const [qn, qd] = pow(e10 - p + 1);
      return roundsTo(D * qn, qd, x, bits, emin);
    });
    if (ok.length === 0) continue;
    // The nearest to x; at an exact tie, the even one.
    const dist = (D: bigint) => {
      const diff = D * scaledD - scaledN;
      return diff < 0n ? -diff : diff;
    };
    ok.sort((a, b) => (dist(a) < dist(b) ? -1 : dist(a) > dist(b) ? 1 : a % 2n === 0n ? -1 : 1));
    const D = ok[0]!;
    // 9.99… rounded up to 10.0… has one digit more, and the next exponent.
    const exp = D.toString().length > p ? e10 + 1 : e10;
    return [D.toString().replace(/0+$/, ''), exp];
  }
  throw new Error(`no shortest digits for ${x}`);
}
