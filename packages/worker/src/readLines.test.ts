import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '@batchscore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLines } from './readLines.js';

let dir: string;
let store: LocalStore;
let n = 0;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bs-readlines-'));
  store = new LocalStore(dir);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Writes `text` as a fresh object and returns its key and byte size. */
async function put(text: string | Uint8Array): Promise<{ key: string; size: number }> {
  const key = `f${n++}.txt`;
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  await store.put(key, bytes);
  return { key, size: bytes.length };
}

async function collect(key: string, size: number, start: number, end: number): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for await (const x of readLines(store, key, size, start, end)) out.push(x);
  return out;
}

/** The lines of `text` with their byte offsets, computed independently: split on \n, strip one \r, no empty tail. */
function expectedLines(text: string): [string, number][] {
  const bytes = new TextEncoder().encode(text);
  const out: [string, number][] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 10) {
      if (i === bytes.length && start === bytes.length) break; // nothing after the last newline
      let line = bytes.subarray(start, i);
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      out.push([new TextDecoder().decode(line), start]);
      start = i + 1;
    }
  }
  return out;
}

async function readSplit(key: string, size: number, bounds: number[]): Promise<[string, number][]> {
  const cuts = [0, ...bounds, size];
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < cuts.length; i++) out.push(...(await collect(key, size, cuts[i]!, cuts[i + 1]!)));
  return out;
}

const TEXTS: Record<string, string> = {
  'trailing newline': 'id,name\n1,alpha\n2,beta\n3,gamma\n',
  'no trailing newline': 'id,name\n1,alpha\n2,beta\n3,gamma',
  'CRLF endings': 'id,name\r\n1,alpha\r\n2,beta\r\n3,gamma\r\n',
  'blank lines': '\na\n\n\nb\r\n\r\nc\n\n',
  'multi-byte UTF-8': 'naïve,€5\n日本語,x\n\nzß🙂\r\nlast é',
  'single char lines': 'a\nb\nc\nd\ne\nf',
};

describe('readLines', () => {
  it('reads a whole file as one range, with byte offsets', async () => {
    const text = 'id,name\r\n1,é\n\n2,🙂x\n3';
    const { key, size } = await put(text);
    expect(await collect(key, size, 0, size)).toEqual([
      ['id,name', 0],
      ['1,é', 9],
      ['', 14],
      ['2,🙂x', 15],
      ['3', 23],
    ]);
  });

  it('gives a line to the range its first byte is in', async () => {
    const { key, size } = await put('aaa\nbbb\nccc\n'); // lines start at 0, 4, 8
    expect(await collect(key, size, 0, 4)).toEqual([['aaa', 0]]);
    expect(await collect(key, size, 0, 5)).toEqual([
      ['aaa', 0],
      ['bbb', 4],
    ]);
    expect(await collect(key, size, 1, 4)).toEqual([]);
    expect(await collect(key, size, 4, 8)).toEqual([['bbb', 4]]);
    expect(await collect(key, size, 5, 12)).toEqual([['ccc', 8]]);
    expect(await collect(key, size, 9, 12)).toEqual([]);
  });

  it('reads an empty file as no lines', async () => {
    const { key, size } = await put('');
    expect(await collect(key, size, 0, 0)).toEqual([]);
  });

  for (const [name, text] of Object.entries(TEXTS)) {
    it(`yields every line exactly once for every 2- and 3-range split (${name})`, async () => {
      const { key, size } = await put(text);
      const want = expectedLines(text);
      expect(want.length).toBeGreaterThan(3);
      expect(await readSplit(key, size, [])).toEqual(want);
      for (let a = 0; a <= size; a++) {
        expect(await readSplit(key, size, [a]), `split at ${a}`).toEqual(want);
        for (let b = a; b <= size; b++) {
          expect(await readSplit(key, size, [a, b]), `split at ${a}, ${b}`).toEqual(want);
        }
      }
    });
  }

  it('handles lines that cross its 4 MiB read chunks', async () => {
    // ~6 MiB of lines of varying length, some long, so lines straddle chunk boundaries.
    const parts: string[] = [];
    let len = 0;
    for (let i = 0; len < 6 * 1024 * 1024; i++) {
      const line = `${i},${'x'.repeat((i * 7919) % 3000)}é`;
      parts.push(line);
      len += Buffer.byteLength(line) + 1;
    }
    const text = parts.join('\n') + '\n';
    const { key, size } = await put(text);
    const want = expectedLines(text);
    const MiB = 1024 * 1024;
    for (const bounds of [[], [4 * MiB], [4 * MiB - 1, 4 * MiB + 1], [1, 4 * MiB + 2], [3 * MiB + 17, 5 * MiB - 3]]) {
      const got = await readSplit(key, size, bounds);
      expect(got.length, `bounds ${bounds}`).toBe(want.length);
      expect(got, `bounds ${bounds}`).toEqual(want);
    }
  });
});
