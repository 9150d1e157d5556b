import { describe, expect, it } from 'vitest';
import { podCount, strideShards } from './strides.js';

describe('strides', () => {
  it('pod i of P scores shards i, i+P, i+2P, … in order', () => {
    expect(strideShards(0, 2, 6)).toEqual([0, 2, 4]);
    expect(strideShards(1, 2, 6)).toEqual([1, 3, 5]);
    expect(strideShards(2, 3, 7)).toEqual([2, 5]);
    expect(strideShards(0, 1, 4)).toEqual([0, 1, 2, 3]);
    // One pod per shard: the old fan-out.
    expect(strideShards(3, 5, 5)).toEqual([3]);
    // A pod past the last shard (by hand: the Workflow never makes one) has nothing to do.
    expect(strideShards(4, 5, 3)).toEqual([]);
    expect(strideShards(0, 3, 0)).toEqual([]);
  });

  it('covers every shard exactly once, each pod within one shard of the others', () => {
    for (const shards of [0, 1, 2, 5, 6, 7, 31, 100, 1001]) {
      for (const cap of [1, 2, 3, 4, 32, 1000]) {
        const pods = podCount(shards, cap);
        expect(pods).toBe(Math.min(shards, cap));
        const strides = Array.from({ length: pods }, (_, i) => strideShards(i, pods, shards));
        expect(strides.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: shards }, (_, i) => i));
        const sizes = strides.map((s) => s.length);
        if (pods > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        if (pods > 0) expect(sizes[0]).toBe(Math.ceil(shards / pods));
      }
    }
  });

  it('podCount: one pod per shard without a cap, none for no shards', () => {
    expect(podCount(7)).toBe(7);
    expect(podCount(7, 3)).toBe(3);
    expect(podCount(2, 32)).toBe(2);
    expect(podCount(0, 32)).toBe(0);
  });

  it('refuses a pod outside 0 ≤ pod < pods', () => {
    expect(() => strideShards(2, 2, 6)).toThrow(RangeError);
    expect(() => strideShards(-1, 2, 6)).toThrow(RangeError);
    expect(() => strideShards(0, 0, 6)).toThrow(RangeError);
  });
});
