import type { Shard } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { Progress, fractionDone, shardByteSize } from './progress.js';

const csvShard = (index: number, start: number, end: number): Shard => ({
  index,
  rows: null,
  pieces: [{ file: 0, byteStart: start, byteEnd: end }],
});

describe('shardByteSize', () => {
  it('sums CSV/JSONL byte ranges and Parquet row-group spans', () => {
    expect(
      shardByteSize({
        index: 0,
        rows: null,
        pieces: [
          { file: 0, byteStart: 0, byteEnd: 100 },
          { file: 1, byteStart: 50, byteEnd: 80 },
        ],
      }),
    ).toBe(130);
    expect(
      shardByteSize({
        index: 0,
        rows: 10,
        pieces: [{ file: 0, rowGroupStart: 0, rowGroupEnd: 2, rows: 10, bytes: [4, 1004] }],
      }),
    ).toBe(1000);
    expect(
      shardByteSize({ index: 0, rows: 10, pieces: [{ file: 0, rowGroupStart: 0, rowGroupEnd: 2, rows: 10 }] }),
    ).toBe(0);
  });
});

describe('fractionDone', () => {
  it('Parquet: rows read over the plan’s rows', () => {
    expect(
      fractionDone(
        1000,
        [0, 0],
        new Map([
          [0, 250],
          [1, 100],
        ]),
        new Set(),
      ),
    ).toBe(0.35);
    expect(fractionDone(0, [0], new Map(), new Set([0]))).toBe(1);
  });

  it(
    'CSV/JSONL: finished shards count their bytes; shards in progress their rows at the ' +
      'finished ones’ bytes per row',
    () => {
      const bytes = [1000, 1000, 2000];
      // Nothing finished: no bytes per row known yet, so rows in progress count nothing.
      expect(fractionDone(null, bytes, new Map([[0, 40]]), new Set())).toBe(0);
      // Shard 0 finished: 1000 bytes in 100 rows, 10 bytes a row; shard 1 has read 50 rows (500 bytes).
      expect(
        fractionDone(
          null,
          bytes,
          new Map([
            [0, 100],
            [1, 50],
          ]),
          new Set([0]),
        ),
      ).toBe(1500 / 4000);
      // A shard in progress counts at most its own size.
      expect(
        fractionDone(
          null,
          bytes,
          new Map([
            [0, 100],
            [1, 500],
          ]),
          new Set([0]),
        ),
      ).toBe(2000 / 4000);
      expect(
        fractionDone(
          null,
          bytes,
          new Map([
            [0, 100],
            [1, 90],
            [2, 210],
          ]),
          new Set([0, 1, 2]),
        ),
      ).toBe(1);
    },
  );

  it('no shards: unknown; shards without byte sizes: shards done over shards', () => {
    expect(fractionDone(null, [], new Map(), new Set())).toBeNull();
    expect(fractionDone(null, [0, 0, 0, 0], new Map([[0, 5]]), new Set([0]))).toBe(0.25);
  });
});

describe('Progress', () => {
  it('redraws one line fitted to the stream’s width, with a percentage and ETA for CSV, at most every 100 ms', () => {
    let now = 1_000_000;
    const out = {
      text: '',
      columns: 60,
      write(s: string) {
        this.text += s;
      },
    };
    const p = new Progress(
      { totalRows: null, shards: [csvShard(0, 0, 1000), csvShard(1, 1000, 2000)] },
      out,
      true,
      () => now,
    );
    now += 10_000;
    p.update(new Map([[0, 100]]), new Set([0]));
    // 60 columns: a 15-wide bar, no room for rows/s. Shard 0 (1000 of 2000 bytes) done in 10 s: 50%, ETA 10 s.
    expect(out.text).toBe('\r[########.......]  50%  100 rows  ETA 10s  shards 1/2\x1b[K');
    now += 50;
    p.update(
      new Map([
        [0, 100],
        [1, 10],
      ]),
      new Set([0]),
    ); // within 100 ms of the last redraw: not drawn
    expect(out.text.split('\r')).toHaveLength(2);
    out.columns = 200;
    now += 4_950;
    p.update(
      new Map([
        [0, 100],
        [1, 100],
      ]),
      new Set([0, 1]),
    );
    p.done();
    // A resize to 200 columns: the bar's widest (40), and everything fits. done() draws the last line and ends it.
    const line = '[########################################] 100%  200 rows  13 rows/s  ETA 0.0s  shards 2/2\x1b[K';
    expect(out.text.split('\r').slice(2)).toEqual([line, `${line}\n`]);
  });

  it('writes nothing when disabled (not a TTY, or no --progress)', () => {
    const out = {
      text: '',
      write(s: string) {
        this.text += s;
      },
    };
    const p = new Progress({ totalRows: 10, shards: [] }, out, false);
    p.update(new Map([[0, 5]]), new Set());
    p.done();
    expect(out.text).toBe('');
  });
});
