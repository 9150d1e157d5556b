import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_SYNC_WINDOW } from './findCsvRecordStart.js';
import { readCsvRecords } from './readCsv.js';
import { LocalStore } from './store/LocalStore.js';

let dir: string;
let store: LocalStore;
let n = 0;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bs-readcsv-'));
  store = new LocalStore(dir);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** mulberry32: a small seeded PRNG, so every run checks the same cases. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function put(text: string): Promise<{ key: string; size: number }> {
  const key = `f${n++}.csv`;
  const bytes = new TextEncoder().encode(text);
  await store.put(key, bytes);
  return { key, size: bytes.length };
}

/** Every record read range by range, cut at `cuts`, blank ones left out, as the shards of a plan would. */
async function readCut(key: string, size: number, cuts: number[], delimiter = ','): Promise<string[][]> {
  const bounds = [0, ...cuts, size];
  const out: string[][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const onRecord = (fields: string[], _at: number, blank: boolean) => void (blank || out.push(fields));
    for await (const _ of readCsvRecords(store, key, size, bounds[i]!, bounds[i + 1]!, delimiter, key, onRecord));
  }
  return out;
}

/** A field as a CSV writer writes it: quoted when it must be, and sometimes when it need not be. */
function write(field: string, quoteAnyway: boolean): string {
  const must = /[",\r\n]/.test(field) && !/^[^"]+"/.test(field) ? true : /[,\r\n]/.test(field) || field.startsWith('"');
  return must || quoteAnyway ? `"${field.replaceAll('"', '""')}"` : field;
}

const PIECES = ['a', 'bc', ',', '"', '""', '\n', '\r\n', '\r', ' ', 'é', '日本', '6" screen', 'x"y', ''];

describe('readCsvRecords: shards cut anywhere read every record once', () => {
  it('on random files of quoted fields holding line breaks, delimiters and quotes, cut at random bytes', async () => {
    const r = rng(22);
    for (let file = 0; file < 40; file++) {
      const cols = 1 + Math.floor(r() * 4);
      const rows: string[][] = [];
      for (let i = 0; i < 3 + Math.floor(r() * 30); i++) {
        rows.push(
          Array.from({ length: cols }, () =>
            Array.from({ length: Math.floor(r() * 4) }, () => PIECES[Math.floor(r() * PIECES.length)]).join(''),
          ),
        );
      }
      // A record of one empty field reads as a blank line; give such rows a value.
      for (const row of rows) if (cols === 1 && row[0]!.trim() === '') row[0] = 'v';
      const eol = r() < 0.3 ? '\r\n' : '\n';
      const text = rows.map((row) => row.map((f) => write(f, r() < 0.2)).join(',')).join(eol) + (r() < 0.5 ? eol : '');
      const { key, size } = await put(text);
      for (let t = 0; t < 6; t++) {
        const cuts = [...new Set(Array.from({ length: 1 + Math.floor(r() * 5) }, () => Math.floor(r() * size)))];
        cuts.sort((a, b) => a - b);
        expect(await readCut(key, size, cuts), `file ${file} ${JSON.stringify(text)} cut at ${cuts}`).toEqual(rows);
      }
      // Every single cut, on a few files.
      if (file < 5) {
        for (let c = 1; c < size; c++) expect(await readCut(key, size, [c]), `cut at ${c}`).toEqual(rows);
      }
    }
  });

  it('on lines of lone quotes, where only the bytes before a cut tell records apart', async () => {
    // Each record is one quoted line break: "\n". From inside, `"\n"\n` reads as well one way as the other.
    // More of it than findCsvRecordStart's window, so cuts before its last MiB are settled from the file's start.
    const rows = Array.from({ length: 300_000 }, () => ['\n']);
    const text = rows.map(() => '"\n"').join('\n') + '\n';
    const { key, size } = await put(text);
    expect(size).toBeGreaterThan(CSV_SYNC_WINDOW);
    for (const cuts of [[1], [2], [3], [4], [5000, 5001, 5002, 5003], [size - 2], [size >> 1, (size >> 1) + 1]]) {
      const got = await readCut(key, size, cuts);
      expect(got.length, `cut at ${cuts}`).toBe(rows.length);
      expect(got.every((f) => f.length === 1 && f[0] === '\n')).toBe(true);
    }
  });

  it('a quoted field longer than the limit fails the shard that holds it, with its byte', async () => {
    const text = `a,b\n1,"${'x'.repeat(1 << 20)}"\n2,3\n`;
    const { key, size } = await put(text);
    await expect(readCut(key, size, [])).rejects.toThrow(/the quoted field that opens at byte 6 is longer than/);
    await expect(readCut(key, size, [100])).rejects.toThrow(/the quoted field that opens at byte 6 is longer than/);
  });

  it('a byte order mark before the header is not part of its first name', async () => {
    const { key, size } = await put('\uFEFF"id",v\n1,2\n');
    expect(await readCut(key, size, [])).toEqual([
      ['id', 'v'],
      ['1', '2'],
    ]);
  });
});
