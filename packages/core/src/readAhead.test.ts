import { describe, expect, it } from 'vitest';
import { readAhead } from './readAhead.js';
import { coalesce } from './remoteParquet.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('readAhead', () => {
  it('yields in order with at most `count` opened ahead, and fewer once they hold `bytes`', async () => {
    for (const [count, bytes, sizes, peak] of [
      [4, 1e9, Array<number>(12).fill(1), 4],
      [8, 10, Array<number>(12).fill(5), 2],
      // The large one alone; the small ones together once it is taken.
      [8, 10, [100, 1, 1], 2],
    ] as const) {
      let open = 0;
      let most = 0;
      const got: number[] = [];
      for await (const r of readAhead(
        sizes.map((_, i) => i),
        async (i) => {
          most = Math.max(most, ++open);
          await tick();
          return i;
        },
        { count, bytes, sizeOf: (i) => sizes[i]!, release: () => {} },
      )) {
        open--;
        got.push(r);
        await tick();
      }
      expect([count, bytes, got, most]).toEqual([count, bytes, sizes.map((_, i) => i), peak]);
    }
  });

  it('releases what was opened but not taken when the consumer stops or an open fails', async () => {
    const released: number[] = [];
    const items = [0, 1, 2, 3, 4, 5];
    const o = { count: 3, bytes: 1e9, sizeOf: () => 1, release: (r: number) => void released.push(r) };
    for await (const r of readAhead(items, async (i) => i, o)) if (r === 1) break;
    expect(released.sort()).toEqual([2, 3]);
    released.length = 0;
    const failing = readAhead(
      items,
      async (i) => {
        if (i === 2) throw new Error('open 2 failed');
        return i;
      },
      o,
    );
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const r of failing) seen.push(r);
      })(),
    ).rejects.toThrow('open 2 failed');
    expect([seen, released.sort()]).toEqual([
      [0, 1],
      [3, 4],
    ]);
  });
});

describe('coalesce', () => {
  it('merges touching and overlapping ranges, drops empty ones, keeps gaps', () => {
    expect(
      coalesce([
        [100, 200],
        [4, 100],
        [300, 400],
        [350, 500],
        [600, 600],
      ]),
    ).toEqual([
      [4, 200],
      [300, 500],
    ]);
  });
});
