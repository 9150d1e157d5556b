/**
 * Summaries of a run's values that shards compute separately and merge adds up: feature statistics, and for each
 * prediction column a log-bucket sketch (as DDSketch: every value lands in a bucket within 1% of it) from which
 * merge draws a 20-bucket histogram and compares it with another run's.
 */

export interface FeatureStats {
  /** Finite values. */
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  nulls: number;
  /** NaN and ±infinity. */
  nonFinite: number;
}

export interface Sketch {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  /** Values within ±ZERO of zero. */
  zero: number;
  /** Bucket index → count, for positive and (by magnitude) negative values. */
  pos: Record<string, number>;
  neg: Record<string, number>;
}

export interface Histogram {
  /** 21 edges of 20 equal-width buckets from the smallest value to the largest. */
  edges: number[];
  counts: number[];
}

export const HISTOGRAM_BUCKETS = 20;
const ALPHA = 0.01;
const GAMMA = (1 + ALPHA) / (1 - ALPHA);
const LOG_GAMMA = Math.log(GAMMA);
const ZERO = 1e-12;

export function newFeatureStats(): FeatureStats {
  return { count: 0, sum: 0, min: null, max: null, nulls: 0, nonFinite: 0 };
}

/** Adds a column's values (null marks a null) to its statistics. */
export function addFeatureValues(s: FeatureStats, values: ArrayLike<number | bigint>, isNull?: (i: number) => boolean): void {
  let { count, sum, min, max, nulls, nonFinite } = s;
  let lo = min ?? Infinity;
  let hi = max ?? -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (isNull?.(i)) {
      nulls++;
      continue;
    }
    const v = Number(values[i]);
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    count++;
    sum += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  Object.assign(s, { count, sum, min: count ? lo : min, max: count ? hi : max, nulls, nonFinite });
}

export function mergeFeatureStats(a: FeatureStats, b: FeatureStats): FeatureStats {
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min),
    max: a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max),
    nulls: a.nulls + b.nulls,
    nonFinite: a.nonFinite + b.nonFinite,
  };
}

export function newSketch(): Sketch {
  return { count: 0, sum: 0, min: null, max: null, zero: 0, pos: {}, neg: {} };
}

/** Adds finite values to a sketch (predictions of scored rows are finite unless the model makes them otherwise). */
export function addToSketch(s: Sketch, values: ArrayLike<number | bigint>): void {
  let lo = s.min ?? Infinity;
  let hi = s.max ?? -Infinity;
  let n = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isFinite(v)) continue;
    n++;
    sum += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    const m = Math.abs(v);
    if (m <= ZERO) s.zero++;
    else {
      const k = String(Math.ceil(Math.log(m) / LOG_GAMMA));
      const side = v > 0 ? s.pos : s.neg;
      side[k] = (side[k] ?? 0) + 1;
    }
  }
  s.count += n;
  s.sum += sum;
  if (n) {
    s.min = lo;
    s.max = hi;
  }
}

export function mergeSketches(a: Sketch, b: Sketch): Sketch {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, n] of Object.entries(y)) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  const f = mergeFeatureStats(
    { count: a.count, sum: a.sum, min: a.min, max: a.max, nulls: 0, nonFinite: 0 },
    { count: b.count, sum: b.sum, min: b.min, max: b.max, nulls: 0, nonFinite: 0 },
  );
  return { count: f.count, sum: f.sum, min: f.min, max: f.max, zero: a.zero + b.zero, pos: add(a.pos, b.pos), neg: add(a.neg, b.neg) };
}

/** Each bucket as (value it stands for, count), clamped to the sketch's true min and max. */
function buckets(s: Sketch): [number, number][] {
  const clamp = (v: number) => Math.min(s.max ?? v, Math.max(s.min ?? v, v));
  const mid = (k: number) => (2 * GAMMA ** k) / (GAMMA + 1);
  const out: [number, number][] = [];
  for (const [k, n] of Object.entries(s.neg)) out.push([clamp(-mid(Number(k))), n]);
  if (s.zero) out.push([clamp(0), s.zero]);
  for (const [k, n] of Object.entries(s.pos)) out.push([clamp(mid(Number(k))), n]);
  return out;
}

/** 20 equal-width buckets from the sketch's min to max (values within 1% of an edge may land on either side). */
export function toHistogram(s: Sketch, n = HISTOGRAM_BUCKETS): Histogram {
  const lo = s.min ?? 0;
  const hi = s.max ?? 0;
  const edges = Array.from({ length: n + 1 }, (_, i) => (i === n ? hi : lo + ((hi - lo) * i) / n));
  return { edges, counts: binCounts(s, edges) };
}

/** Counts of the sketch's values in the buckets between `edges`; the first and last buckets are open-ended. */
export function binCounts(s: Sketch, edges: number[]): number[] {
  const n = edges.length - 1;
  const counts = new Array<number>(n).fill(0);
  for (const [v, c] of buckets(s)) {
    let i = 0;
    while (i < n - 1 && v >= edges[i + 1]!) i++;
    counts[i]! += c;
  }
  return counts;
}

/**
 * Population stability index of `current` against `baseline`'s histogram, over the baseline's buckets:
 * Σ (a − e)·ln(a / e) with a, e the shares of rows per bucket (empty buckets count as 0.01% so the sum stays finite).
 * Rule of thumb: < 0.1 stable, 0.1–0.2 a shift worth a look, > 0.2 a shift.
 */
export function psi(baseline: Histogram, current: Sketch): number {
  const e = shares(baseline.counts);
  const a = shares(binCounts(current, baseline.edges));
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += (a[i]! - e[i]!) * Math.log(a[i]! / e[i]!);
  return Number(sum.toFixed(6));
}

function shares(counts: number[]): number[] {
  const total = counts.reduce((x, y) => x + y, 0) || 1;
  return counts.map((c) => Math.max(c / total, 1e-4));
}
