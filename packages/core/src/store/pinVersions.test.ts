import { mkdtemp, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { BatchscoreError } from '../errors.js';
import { openParquet, streamParquet, toParquetBytes } from '../parquet.js';
import { LocalStore } from './LocalStore.js';
import { pinVersions } from './pinVersions.js';

async function store() {
  return new LocalStore(await mkdtemp(path.join(tmpdir(), 'bs-pin-')));
}

/** Moves a file's modification time on by a second, as any write would (its bytes stay). */
async function touch(s: LocalStore, key: string) {
  const later = new Date(Date.now() + 1_000);
  await utimes(s.pathOf(key), later, later);
}

const changed = (err: unknown) =>
  err instanceof BatchscoreError && err.code === 'INPUT_CHANGED' ? err.message.split(' (')[0] : err;

describe('reads pinned to a version, on a local store', () => {
  it('reads ranges of the planned version, and refuses them once the file changed', async () => {
    const s = await store();
    await s.put('a.csv', 'x,y\n1,2\n');
    const v = (await s.head('a.csv'))!.version!;
    const pinned = pinVersions(s, new Map([['a.csv', v]]));
    expect(new TextDecoder().decode(await pinned.getRange('a.csv', 0, 3))).toBe('x,y');
    await touch(s, 'a.csv');
    const err = await pinned.getRange('a.csv', 0, 3).catch((e: unknown) => e);
    expect(changed(err)).toBe(`${s.uriOf('a.csv')}: changed since planning`);
    // Unpinned keys and reads are as before.
    expect((await s.getRange('a.csv', 0, 1)).length).toBe(1);
  });

  it('fails a Parquet decode whose file changes after it was opened (the version given in its layout)', async () => {
    const s = await store();
    const t = new arrow.Table({ x: arrow.makeVector(Float64Array.from({ length: 10_000 }, (_, i) => i)) });
    await s.put('a.parquet', toParquetBytes(t, undefined, 1_000));
    const { size, version } = (await s.head('a.parquet'))!;
    const pf = await openParquet(s, 'a.parquet', { size, ranges: [], version: version! });
    try {
      await touch(s, 'a.parquet');
      const read = async () => {
        for await (const _ of streamParquet(pf, { rowGroups: [0, 1, 2], batchSize: 1_000 })) void _;
      };
      expect(changed(await read().catch((e: unknown) => e))).toBe(`${s.uriOf('a.parquet')}: changed since planning`);
    } finally {
      pf.free();
    }
  });

  it('refuses to open a Parquet file that already changed', async () => {
    const s = await store();
    await s.put('a.parquet', toParquetBytes(new arrow.Table({ x: arrow.makeVector(Float64Array.from([1])) })));
    const { size, version } = (await s.head('a.parquet'))!;
    await touch(s, 'a.parquet');
    expect(
      changed(await openParquet(s, 'a.parquet', { size, ranges: [], version: version! }).catch((e: unknown) => e)),
    ).toBe(`${s.uriOf('a.parquet')}: changed since planning`);
  });
});
