import { describe, expect, it } from 'vitest';
import { mergeSketches, psi, SketchBuilder, toHistogram } from './quality.js';

function sketchOf(values: number[]) {
  const b = new SketchBuilder();
  b.add(Float64Array.from(values));
  return b.toSketch();
}

/** A seeded uniform stream, so the tests see the same numbers every run. */
function uniform(n: number, seed: number, f: (u: number) => number = (u) => u): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return f(x / 2147483648);
  });
}

describe('prediction sketches, histograms and PSI', () => {
  it(
    'a 20-bucket histogram from the sketch is within 3% of the exact one per bucket, ' + 'and holds every value once',
    () => {
      const values = uniform(100_000, 1);
      const s = sketchOf(values);
      const h = toHistogram(s);
      const exact = new Array<number>(20).fill(0);
      for (const v of values) exact[Math.min(19, Math.floor(((v - s.min!) / (s.max! - s.min!)) * 20))]!++;
      h.counts.forEach((c, i) => expect(Math.abs(c - exact[i]!)).toBeLessThanOrEqual(150));
      expect(h.counts.reduce((a, b) => a + b, 0)).toBe(100_000);
      expect(h.edges[0]).toBe(s.min);
      expect(h.edges[20]).toBe(s.max);
      expect(s.count).toBe(100_000);
      expect(s.sum / s.count).toBeCloseTo(0.5, 2);
    },
  );

  it('skips NaN and infinities, counts zeros and negatives', () => {
    const s = sketchOf([0, -2, 2, NaN, Infinity, -Infinity, 1e-13]);
    expect(s).toMatchObject({ count: 4, min: -2, max: 2, zero: 2 });
    expect(Object.values(s.neg)).toEqual([1]);
    expect(Object.values(s.pos)).toEqual([1]);
  });

  it('merging sketches of two halves gives the sketch of the whole', () => {
    const a = uniform(5_000, 7);
    const b = uniform(5_000, 8, (u) => u * 3 - 1);
    expect(mergeSketches(sketchOf(a), sketchOf(b))).toEqual(sketchOf([...a, ...b]));
  });

  it('PSI is near 0 for another sample of the same population and above 0.2 for a shifted one', () => {
    const base = toHistogram(sketchOf(uniform(50_000, 3, (u) => u * u)));
    expect(psi(base, sketchOf(uniform(50_000, 4, (u) => u * u)))).toBeLessThan(0.01);
    expect(psi(base, sketchOf(uniform(50_000, 5, (u) => Math.sqrt(u))))).toBeGreaterThan(0.2);
    // Values outside the baseline's range land in its first or last bucket.
    expect(psi(base, sketchOf(uniform(50_000, 6, (u) => 5 + u)))).toBeGreaterThan(1);
  });
});
