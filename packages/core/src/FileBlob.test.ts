import { mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { expect, test } from 'vitest';
import { FileBlob } from './FileBlob.js';

const text = async (b: FileBlob) => new TextDecoder().decode(await b.arrayBuffer());

test('slices read the bytes Blob.slice would, negative offsets from the end and clamped', async () => {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'bs-blob-')), 'f');
  await writeFile(file, '0123456789');
  const blob = await FileBlob.open(file);
  try {
    const native = new Blob(['0123456789']);
    for (const [s, e] of [
      [0, 10],
      [2, 5],
      [-4, undefined],
      [-4, -1],
      [7, 99],
      [8, 3],
      [-99, 2],
      [undefined, undefined],
    ] as const) {
      expect([s, e, await text(blob.slice(s, e))]).toEqual([s, e, await native.slice(s, e).text()]);
    }
    expect(blob.size).toBe(10);
    expect(blob.slice(2, 8).slice(1, 3).size).toBe(2);
    expect(await text(blob.slice(2, 8).slice(1, 3))).toBe('34');
  } finally {
    await blob.close();
  }
});

test('a file cut short while open fails the read, naming the file and the byte', async () => {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'bs-blob-')), 'f');
  await writeFile(file, '0123456789');
  const blob = await FileBlob.open(file);
  try {
    await truncate(file, 4);
    await expect(blob.slice(2, 8).arrayBuffer()).rejects.toThrow(
      `${file}: ends before byte 8 (it changed while being read)`,
    );
  } finally {
    await blob.close();
  }
});
