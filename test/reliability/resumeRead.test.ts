/**
 * The input positions parts are cut at, checked on the readers themselves: for Parquet (files of row groups of
 * several sizes), CSV (blank lines, CRLF, quoted fields, no newline at the end; and RFC 4180 records whose quoted
 * fields span lines) and JSONL, a shard read with parts of R rows never hands out a batch across a multiple of R;
 * the positions at those multiples are the same whatever the batch size (any attempt cuts the same parts); and a read
 * resumed from any batch's end position gives exactly the rows that followed it, so an attempt that resumes after a
 * committed part reads each remaining row once.
 */
import { mkdtemp, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPlan } from '@batchscore/coordinator';
import {
  CsvParser,
  LocalStore,
  parseJobSpec,
  toParquetBytes,
  toShardRecord,
  type InputPosition,
  type ShardPlan,
} from '@batchscore/core';
import { readShard, type ReadBatch } from '@batchscore/worker';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL } from '../support/cli.js';
import { customersAsQuotedCsv, customersAsText, jobYaml, makeCustomers, noteFor } from '../support/data.js';

/** A small deterministic generator, so that a failure names a seed that reproduces it. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

type Format = 'parquet' | 'csv' | 'jsonl';

/** Writes `rows` customers in `files` files of the format, with the text quirks a reader must get through. */
async function writeInput(store: LocalStore, format: Format, rows: number, files: number, seed: number) {
  const r = rng(seed);
  const ids: number[] = [];
  let first = 0;
  for (let f = 0; f < files; f++) {
    const n = f === files - 1 ? rows - first : Math.floor(rows / files);
    const t = makeCustomers(n, first);
    for (let i = 0; i < n; i++) ids.push(first + i);
    first += n;
    if (format === 'parquet') {
      await store.put(`in/f${f}.parquet`, toParquetBytes(t, undefined, 50 + r(300)));
      continue;
    }
    let lines = customersAsText(t, format).split('\n');
    const body = lines.slice(format === 'csv' ? 1 : 0, -1);
    // Blank lines here and there, one line with CRLF, and (CSV) a quoted field.
    const out: string[] = format === 'csv' ? [lines[0]!] : [];
    body.forEach((l, i) => {
      if (r(40) === 0) out.push('');
      const quoted = format === 'csv' && i % 17 === 3 ? l.replace(/^(\d+),/, '"$1",') : l;
      out.push(i % 23 === 5 ? quoted + '\r' : quoted);
    });
    lines = out;
    const text = lines.join('\n') + (f % 2 === 0 ? '\n' : '');
    await store.put(`in/f${f}.${format}`, text);
  }
  return ids;
}

async function planOf(
  dir: string,
  format: Format,
  rowsPerShard: number,
  bytesPerShard: number,
  passthrough?: string[],
): Promise<ShardPlan> {
  const yaml = jobYaml({
    input: path.join(dir, 'in/'),
    format,
    model: CREDIT_MODEL,
    output: path.join(dir, 'out/'),
    rowsPerShard,
    bytesPerShard,
    ...(passthrough ? { passthrough } : {}),
  });
  const job = parseJobSpec(yaml, { baseDir: dir });
  return createPlan(job, '2024-01-01', (uri) => new LocalStore(new URL(uri).pathname));
}

async function readAll(
  plan: ShardPlan,
  shard: number,
  store: LocalStore,
  batchSize: number,
  o: { from?: InputPosition; partRows: number },
): Promise<ReadBatch[]> {
  const out: ReadBatch[] = [];
  for await (const b of readShard(plan, toShardRecord(plan, plan.shards[shard]!), store, batchSize, [], o)) out.push(b);
  return out;
}

const idsOf = (batches: ReadBatch[]) =>
  batches.flatMap((b) => Array.from(b.table.getChild('customer_id')!.toArray() as ArrayLike<number | bigint>, Number));

describe('input positions: parts cut at the same rows by every attempt, and a resumed read goes on exactly', () => {
  const cases: [Format, number][] = [
    ['parquet', 1],
    ['parquet', 2],
    ['csv', 3],
    ['csv', 4],
    ['jsonl', 5],
    ['jsonl', 6],
  ];
  it.each(cases)('%s (seed %i)', async (format, seed) => {
    const r = rng(seed * 7919);
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-resume-read-'));
    const store = new LocalStore(dir);
    const rows = 1_500 + r(2_000);
    const ids = await writeInput(store, format, rows, 2 + r(3), seed);
    const plan = await planOf(dir, format, 400 + r(900), 20_000 + r(40_000));
    const input = new LocalStore(path.join(dir, 'in'));
    expect(plan.shards.length).toBeGreaterThan(1);
    const seen: number[] = [];
    for (let s = 0; s < plan.shards.length; s++) {
      const partRows = 1 + r(300);
      const full = await readAll(plan, s, input, 64 + r(200), { partRows });
      const all = idsOf(full);
      seen.push(...all);
      // No batch crosses a part boundary, and each says how many rows of the shard are behind it.
      let row = 0;
      for (const b of full) {
        const before = row;
        row += b.table.numRows;
        expect(b.end.row).toBe(row);
        expect(Math.floor((row - 1) / partRows)).toBe(Math.floor(before / partRows));
      }
      // Another batch size gives the same positions at every part boundary.
      const other = await readAll(plan, s, input, 1 + r(50), { partRows });
      const atCuts = (bs: ReadBatch[]) => bs.filter((b) => b.end.row % partRows === 0).map((b) => b.end);
      expect(atCuts(other)).toEqual(atCuts(full));
      expect(idsOf(other)).toEqual(all);
      // Resumed from any batch's end: exactly the rows after it.
      for (const b of full) {
        const rest = await readAll(plan, s, input, 64 + r(200), { from: b.end, partRows });
        expect(idsOf(rest)).toEqual(all.slice(b.end.row));
        if (rest.length > 0) expect(rest.at(-1)!.end.row).toBe(all.length);
      }
    }
    expect(seen).toEqual(ids);
  });

  it.each([1, 2, 3])(
    'CSV whose quoted fields span lines (seed %i): every recorded byte is a record start, and a read resumed there ' +
      'gives exactly the records after it, values exact',
    async (seed) => {
      const r = rng(seed * 104_729);
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-resume-read-'));
      const store = new LocalStore(dir);
      const ids: number[] = [];
      const files = 2 + r(2);
      for (let f = 0, first = 0; f < files; f++) {
        const n = 300 + r(500);
        await store.put(`in/f${f}.csv`, customersAsQuotedCsv(makeCustomers(n, first)));
        for (let i = 0; i < n; i++) ids.push(first + i);
        first += n;
      }
      // Shards of a few KiB: their cuts fall inside quoted fields, between a CR and its LF, on blank lines.
      const plan = await planOf(dir, 'csv', 250_000, 2_000 + r(6_000), ['customer_id', 'note']);
      expect(plan.shards.length).toBeGreaterThan(files);
      const input = new LocalStore(path.join(dir, 'in'));
      // Where CsvParser, reading each file whole from its start, begins a record (blank ones and the header too).
      const starts = new Map<string, Set<number>>();
      for (let f = 0; f < files; f++) {
        const bytes = new Uint8Array(await readFile(path.join(dir, `in/f${f}.csv`)));
        const at = new Set<number>();
        new CsvParser(new TextEncoder().encode(','), `f${f}.csv`, bytes.length).parse(bytes, 0, 0, true, (_f, s) => {
          at.add(s);
        });
        starts.set(`f${f}.csv`, at);
      }
      const rowsOf = (bs: ReadBatch[]) =>
        bs.flatMap((b) => {
          const id = b.table.getChild('customer_id')!;
          const note = b.table.getChild('note')!;
          return Array.from({ length: b.table.numRows }, (_, i) => [Number(id.get(i)), note.get(i) as string] as const);
        });
      const seen: (readonly [number, string])[] = [];
      for (let s = 0; s < plan.shards.length; s++) {
        const record = toShardRecord(plan, plan.shards[s]!);
        const partRows = 1 + r(120);
        const full = await readAll(plan, s, input, 16 + r(100), { partRows });
        const all = rowsOf(full);
        seen.push(...all);
        for (const b of full) {
          if (b.end.byte === undefined) {
            // The piece's rows ran out: the next row is the next piece's first.
            expect(b.end.pieceRow).toBe(0);
            continue;
          }
          const piece = record.pieces[b.end.piece]!;
          expect(starts.get(record.files[piece.file]!.key)!.has(b.end.byte), `byte ${b.end.byte}`).toBe(true);
        }
        // A read resumed from any batch's end (where a part would end): the records after it, once, values exact.
        for (const b of full) {
          const rest = await readAll(plan, s, input, 16 + r(100), { from: b.end, partRows });
          expect(rowsOf(rest)).toEqual(all.slice(b.end.row));
        }
      }
      expect(seen.map(([id]) => id)).toEqual(ids);
      expect(seen.map(([, note]) => note)).toEqual(ids.map(noteFor));
    },
  );

  it('a Parquet read resumed mid-file skips whole row groups without decoding them', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-resume-read-'));
    const store = new LocalStore(dir);
    const bytes = toParquetBytes(makeCustomers(1_000), undefined, 100);
    await store.put('in/a.parquet', bytes);
    const plan = await planOf(dir, 'parquet', 1_000, 1 << 20);
    // Row group 2's pages overwritten after planning (which reads only the footer): a read that decoded it would fail.
    const sizes = plan.files[0]!.rowGroupBytes!;
    const start = 4 + sizes[0]! + sizes[1]!;
    await store.put('in/a.parquet', Uint8Array.from(bytes).fill(0x5a, start + 8, start + sizes[2]! - 8));
    // The file changed since planning on purpose here, which the version check refuses (next test): read as a plan
    // without versions reads it, to see which row groups are decoded.
    delete plan.files[0]!.version;
    const input = new LocalStore(path.join(dir, 'in'));
    const rest = await readAll(plan, 0, input, 1_000, { from: { row: 650, piece: 0, pieceRow: 650 }, partRows: 300 });
    // 650 → 900 (the part boundary) → 1000, from row group 6 on: the first batch is that group's last 50 rows.
    expect(rest.map((b) => [b.table.numRows, b.end.row])).toEqual([
      [50, 700],
      [100, 800],
      [100, 900],
      [100, 1000],
    ]);
    expect(idsOf(rest)).toEqual(Array.from({ length: 350 }, (_, i) => 650 + i));
  });

  it.each<Format>(['csv', 'jsonl', 'parquet'])(
    'a %s read resumed after a committed part checks the planned version: a file changed since fails, naming it',
    async (format) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-resume-read-'));
      const store = new LocalStore(dir);
      await writeInput(store, format, 1_200, 1, 7);
      const plan = await planOf(dir, format, 100_000, 1 << 20);
      const input = new LocalStore(path.join(dir, 'in'));
      const full = await readAll(plan, 0, input, 100, { partRows: 300 });
      const from = full.find((b) => b.end.row === 600)!.end;
      expect(from.byte !== undefined).toBe(format !== 'parquet');
      // Resumed from the file as planned: the rows after the position.
      expect(idsOf(await readAll(plan, 0, input, 100, { from, partRows: 300 }))).toHaveLength(600);
      // Rewritten in place, the same size (a digit changed after the resume point), a second later.
      const file = path.join(dir, 'in', plan.files[0]!.key);
      const bytes = new Uint8Array(await readFile(file));
      const at = bytes.length - 20;
      bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
      await writeFile(file, bytes);
      const later = new Date(Date.now() + 1_000);
      await utimes(file, later, later);
      expect((await stat(file)).size).toBe(plan.files[0]!.size);
      await expect(readAll(plan, 0, input, 100, { from, partRows: 300 })).rejects.toMatchObject({
        code: 'INPUT_CHANGED',
        message: expect.stringContaining(`${input.uriOf(plan.files[0]!.key)}: changed since planning`),
      });
    },
  );
});
