import type { InputFile, Shard } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { planShards } from './planShards.js';

/** mulberry32: a small seeded PRNG, so every run checks the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const intIn = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

const parquetFile = (i: number, rowGroups: number[]): InputFile => ({
  key: `f${i}.parquet`,
  size: 1000,
  partitionValues: {},
  rowGroups,
});
const textFile = (i: number, size: number): InputFile => ({ key: `f${i}.csv`, size, partitionValues: {} });

type RowGroupPiece = { file: number; rowGroupStart: number; rowGroupEnd: number; rows: number };
type BytePiece = { file: number; byteStart: number; byteEnd: number };

function rowGroupPieces(s: Shard): RowGroupPiece[] {
  return s.pieces.map((p) => {
    if (!('rowGroupEnd' in p)) throw new Error(`shard ${s.index}: byte piece in a parquet plan`);
    return p;
  });
}
function bytePieces(s: Shard): BytePiece[] {
  return s.pieces.map((p) => {
    if (!('byteEnd' in p)) throw new Error(`shard ${s.index}: row-group piece in a csv plan`);
    return p;
  });
}

/** Checks every invariant of a parquet plan; returns nothing, fails through expect. */
function checkParquetPlan(files: InputFile[], rowsPerShard: number, shards: Shard[]): void {
  expect(shards.map((s) => s.index)).toEqual(shards.map((_, i) => i));
  // Row groups (file, group) in plan order, each once.
  const seen: [number, number][] = [];
  for (const s of shards) {
    const pieces = rowGroupPieces(s);
    expect(pieces.length).toBeGreaterThan(0);
    let shardRows = 0;
    let groupsInShard = 0;
    for (const p of pieces) {
      const groups = files[p.file]!.rowGroups!;
      expect(p.rowGroupStart).toBeLessThan(p.rowGroupEnd);
      let pieceRows = 0;
      for (let g = p.rowGroupStart; g < p.rowGroupEnd; g++) {
        expect(groups[g]).toBeGreaterThan(0); // empty row groups are never planned
        pieceRows += groups[g]!;
        seen.push([p.file, g]);
        groupsInShard++;
      }
      expect(p.rows).toBe(pieceRows);
      shardRows += pieceRows;
    }
    expect(s.rows).toBe(shardRows);
    if (groupsInShard > 1) expect(s.rows!).toBeLessThanOrEqual(rowsPerShard);
  }
  const expected: [number, number][] = [];
  files.forEach((f, fi) => f.rowGroups?.forEach((n, gi) => n > 0 && expected.push([fi, gi])));
  expect(seen).toEqual(expected);
  const total = files.reduce((n, f) => n + (f.rowGroups ?? []).reduce((a, b) => a + b, 0), 0);
  expect(shards.reduce((n, s) => n + s.rows!, 0)).toBe(total);
}

function checkBytePlan(files: InputFile[], bytesPerShard: number, shards: Shard[]): void {
  expect(shards.map((s) => s.index)).toEqual(shards.map((_, i) => i));
  const ranges = files.map(() => [] as [number, number][]);
  shards.forEach((s, si) => {
    expect(s.rows).toBeNull();
    const pieces = bytePieces(s);
    expect(pieces.length).toBeGreaterThan(0);
    let bytes = 0;
    for (const p of pieces) {
      expect(p.byteEnd).toBeGreaterThan(p.byteStart);
      ranges[p.file]!.push([p.byteStart, p.byteEnd]);
      bytes += p.byteEnd - p.byteStart;
    }
    // Every shard but the last holds exactly bytesPerShard; the last at most that.
    if (si < shards.length - 1) expect(bytes).toBe(bytesPerShard);
    else expect(bytes).toBeLessThanOrEqual(bytesPerShard);
  });
  // Each file's ranges, in plan order, tile [0, size) with no gap or overlap.
  files.forEach((f, fi) => {
    let at = 0;
    for (const [a, b] of ranges[fi]!) {
      expect(a).toBe(at);
      at = b;
    }
    expect(at).toBe(f.size);
  });
  // Pieces appear in file order.
  const order = shards.flatMap((s) => bytePieces(s).map((p) => p.file));
  expect(order).toEqual([...order].sort((a, b) => a - b));
}

describe('planShards: parquet row groups', () => {
  it('packs small files together up to rowsPerShard', () => {
    const files = [0, 1, 2, 3].map((i) => parquetFile(i, [100]));
    expect(planShards(files, 'parquet', { rowsPerShard: 250, bytesPerShard: 1 })).toEqual([
      {
        index: 0,
        rows: 200,
        pieces: [
          { file: 0, rowGroupStart: 0, rowGroupEnd: 1, rows: 100 },
          { file: 1, rowGroupStart: 0, rowGroupEnd: 1, rows: 100 },
        ],
      },
      {
        index: 1,
        rows: 200,
        pieces: [
          { file: 2, rowGroupStart: 0, rowGroupEnd: 1, rows: 100 },
          { file: 3, rowGroupStart: 0, rowGroupEnd: 1, rows: 100 },
        ],
      },
    ]);
  });

  it('merges consecutive row groups of one file into one piece and fills a shard exactly', () => {
    const files = [parquetFile(0, [50, 50, 50, 50, 50])];
    expect(planShards(files, 'parquet', { rowsPerShard: 100, bytesPerShard: 1 })).toEqual([
      { index: 0, rows: 100, pieces: [{ file: 0, rowGroupStart: 0, rowGroupEnd: 2, rows: 100 }] },
      { index: 1, rows: 100, pieces: [{ file: 0, rowGroupStart: 2, rowGroupEnd: 4, rows: 100 }] },
      { index: 2, rows: 50, pieces: [{ file: 0, rowGroupStart: 4, rowGroupEnd: 5, rows: 50 }] },
    ]);
  });

  it('gives a row group larger than rowsPerShard a shard of its own', () => {
    const files = [parquetFile(0, [10, 500, 10])];
    expect(planShards(files, 'parquet', { rowsPerShard: 100, bytesPerShard: 1 })).toEqual([
      { index: 0, rows: 10, pieces: [{ file: 0, rowGroupStart: 0, rowGroupEnd: 1, rows: 10 }] },
      { index: 1, rows: 500, pieces: [{ file: 0, rowGroupStart: 1, rowGroupEnd: 2, rows: 500 }] },
      { index: 2, rows: 10, pieces: [{ file: 0, rowGroupStart: 2, rowGroupEnd: 3, rows: 10 }] },
    ]);
  });

  it('skips empty row groups and files, splitting a piece around an empty group', () => {
    const files = [parquetFile(0, [0]), parquetFile(1, []), parquetFile(2, [5, 0, 5])];
    expect(planShards(files, 'parquet', { rowsPerShard: 100, bytesPerShard: 1 })).toEqual([
      {
        index: 0,
        rows: 10,
        pieces: [
          { file: 2, rowGroupStart: 0, rowGroupEnd: 1, rows: 5 },
          { file: 2, rowGroupStart: 2, rowGroupEnd: 3, rows: 5 },
        ],
      },
    ]);
  });

  it('plans no shards for no rows', () => {
    expect(planShards([], 'parquet', { rowsPerShard: 10, bytesPerShard: 1 })).toEqual([]);
    expect(planShards([parquetFile(0, [0, 0])], 'parquet', { rowsPerShard: 10, bytesPerShard: 1 })).toEqual([]);
  });

  it('holds its invariants over 200 random inputs, and is deterministic', () => {
    const rnd = prng(0xba7c5);
    for (let c = 0; c < 200; c++) {
      const files = Array.from({ length: intIn(rnd, 1, 6) }, (_, i) =>
        parquetFile(
          i,
          Array.from({ length: intIn(rnd, 0, 12) }, () => (rnd() < 0.15 ? 0 : intIn(rnd, 0, 50_000))),
        ),
      );
      const rowsPerShard = rnd() < 0.3 ? intIn(rnd, 1, 1000) : intIn(rnd, 1, 200_000);
      const opts = { rowsPerShard, bytesPerShard: 1 };
      const shards = planShards(files, 'parquet', opts);
      checkParquetPlan(files, rowsPerShard, shards);
      expect(planShards(structuredClone(files), 'parquet', opts)).toEqual(shards);
    }
  });
});

describe('planShards: csv/jsonl byte ranges', () => {
  it('splits a large file and packs small ones together', () => {
    const files = [textFile(0, 250), textFile(1, 30), textFile(2, 40)];
    expect(planShards(files, 'csv', { rowsPerShard: 1, bytesPerShard: 100 })).toEqual([
      { index: 0, rows: null, pieces: [{ file: 0, byteStart: 0, byteEnd: 100 }] },
      { index: 1, rows: null, pieces: [{ file: 0, byteStart: 100, byteEnd: 200 }] },
      {
        index: 2,
        rows: null,
        pieces: [
          { file: 0, byteStart: 200, byteEnd: 250 },
          { file: 1, byteStart: 0, byteEnd: 30 },
          { file: 2, byteStart: 0, byteEnd: 20 },
        ],
      },
      { index: 3, rows: null, pieces: [{ file: 2, byteStart: 20, byteEnd: 40 }] },
    ]);
  });

  it('skips empty files', () => {
    const files = [textFile(0, 0), textFile(1, 10), textFile(2, 0)];
    expect(planShards(files, 'jsonl', { rowsPerShard: 1, bytesPerShard: 100 })).toEqual([
      { index: 0, rows: null, pieces: [{ file: 1, byteStart: 0, byteEnd: 10 }] },
    ]);
    expect(planShards([textFile(0, 0)], 'jsonl', { rowsPerShard: 1, bytesPerShard: 100 })).toEqual([]);
  });

  it('tiles every file exactly over 200 random inputs, and is deterministic', () => {
    const rnd = prng(0x5eed);
    for (let c = 0; c < 200; c++) {
      const files = Array.from({ length: intIn(rnd, 1, 6) }, (_, i) =>
        textFile(i, rnd() < 0.15 ? 0 : intIn(rnd, 1, 5000)),
      );
      const bytesPerShard = intIn(rnd, 1, 3000);
      const format = rnd() < 0.5 ? 'csv' : 'jsonl';
      const opts = { rowsPerShard: 1, bytesPerShard };
      const shards = planShards(files, format, opts);
      checkBytePlan(files, bytesPerShard, shards);
      const total = files.reduce((n, f) => n + f.size, 0);
      expect(shards).toHaveLength(Math.ceil(total / bytesPerShard));
      expect(planShards(structuredClone(files), format, opts)).toEqual(shards);
    }
  });
});
