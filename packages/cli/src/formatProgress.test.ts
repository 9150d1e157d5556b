import { describe, expect, it } from 'vitest';
import { formatProgress, type ProgressView } from './formatProgress.js';

// Parquet: the plan counts the rows. 12.3456% after 10 s: ETA 10 × 0.876544 / 0.123456 = 71 s.
const parquet: ProgressView = {
  rows: 123_456,
  totalRows: 1_000_000,
  fraction: 0.123456,
  elapsedSeconds: 10,
  shardsDone: 3,
  shards: 40,
};
// CSV/JSONL: no row count, a fraction from the bytes. 50% after 65 s: ETA 65 s.
const csv: ProgressView = {
  rows: 45_000,
  totalRows: null,
  fraction: 0.5,
  elapsedSeconds: 65,
  shardsDone: 2,
  shards: 4,
};

describe('formatProgress', () => {
  it('Parquet at 40, 80 and 200 columns', () => {
    expect(formatProgress(parquet, 40)).toBe('[#.........]  12%  ETA 1m11s');
    expect(formatProgress(parquet, 80)).toBe(
      '[##..................]  12%  123,456/1,000,000 rows  ETA 1m11s  shards 3/40',
    );
    expect(formatProgress(parquet, 200)).toBe(
      '[#####...................................]  12%  123,456/1,000,000 rows  12,346 rows/s  ETA 1m11s  shards 3/40',
    );
  });

  it('CSV/JSONL (no row total): a percentage and an ETA from the byte fraction, at 40, 80 and 200 columns', () => {
    expect(formatProgress(csv, 40)).toBe('[#####.....]  50%  ETA 1m05s');
    expect(formatProgress(csv, 80)).toBe('[##########..........]  50%  45,000 rows  692 rows/s  ETA 1m05s  shards 2/4');
    expect(formatProgress(csv, 200)).toBe(
      '[####################....................]  50%  45,000 rows  692 rows/s  ETA 1m05s  shards 2/4',
    );
  });

  it('keeps a shorter, less useful item where a longer one does not fit', () => {
    // 53 columns (52 usable): 31 for bar, percentage and ETA; no room for the row count (24 more) nor rows/s
    // (15 more), room for the shard count (13 more).
    expect(formatProgress(parquet, 53)).toBe('[##...........]  12%  ETA 1m11s  shards 3/40');
  });

  it('without a fraction: no bar, percentage or ETA', () => {
    expect(formatProgress({ ...csv, fraction: null }, 80)).toBe('45,000 rows  692 rows/s  shards 2/4');
  });

  it('an unknown ETA before any progress, 0 at the end, and 100% only when done', () => {
    expect(formatProgress({ ...csv, rows: 0, fraction: 0, elapsedSeconds: 0, shardsDone: 0 }, 80)).toBe(
      '[....................]   0%  0 rows  0 rows/s  ETA ?  shards 0/4',
    );
    expect(formatProgress({ ...csv, fraction: 0.999 }, 40)).toBe('[##########]  99%  ETA 0.1s  shards 2/4');
    expect(formatProgress({ ...csv, fraction: 1, shardsDone: 4 }, 40)).toBe('[##########] 100%  ETA 0.0s  shards 4/4');
  });

  it('never reaches the last column, down to a 1-column terminal', () => {
    for (const v of [parquet, csv, { ...csv, fraction: null }]) {
      for (let width = 1; width <= 250; width++) expect(formatProgress(v, width).length).toBeLessThanOrEqual(width - 1);
    }
    expect(formatProgress(parquet, 12)).toBe('12%');
    expect(formatProgress(parquet, 3)).toBe('12');
    expect(formatProgress(parquet, 1)).toBe('');
  });
});
