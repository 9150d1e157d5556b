import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, openParquet } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { PartWriter } from './PartWriter.js';

const rows = (n: number, first = 0) =>
  new arrow.Table({ id: arrow.makeVector(Float64Array.from({ length: n }, (_, i) => first + i)) });

/** Rows in each written part, read back from the Parquet footers (not from what the writer says it wrote). */
async function partRows(store: LocalStore, w: PartWriter): Promise<number[]> {
  const out: number[] = [];
  for (const f of w.files) {
    const pf = await openParquet(store, f.key);
    out.push(pf.metadata().fileMetadata().numRows());
    pf.free();
  }
  return out;
}

describe('PartWriter', () => {
  it('never writes a part above rowsPerPart, even from tables larger than it', async () => {
    const store = new LocalStore(await mkdtemp(path.join(tmpdir(), 'bs-parts-')));
    const w = new PartWriter(store, { batchDate: '2024-01-01', modelVersion: 'v1' }, 0, 1, 7_000, {});
    await w.add('', rows(50_000));
    await w.add('', rows(50_000, 50_000));
    await w.close();
    expect(await partRows(store, w)).toEqual([...Array<number>(14).fill(7_000), 2_000]);
    expect(w.files.map((f) => f.rows)).toEqual([...Array<number>(14).fill(7_000), 2_000]);
  });

  it('keeps every partition at or under rowsPerPart and every row once', async () => {
    const store = new LocalStore(await mkdtemp(path.join(tmpdir(), 'bs-parts-')));
    const w = new PartWriter(store, { batchDate: '2024-01-01', modelVersion: 'v1' }, 0, 1, 1_000, {});
    await w.add('region=EU', rows(2_500));
    await w.add('region=US', rows(600, 2_500));
    await w.add('region=EU', rows(300, 3_100));
    await w.close();
    const counts = await partRows(store, w);
    expect(counts).toEqual([1_000, 1_000, 600, 800]);
    expect(w.files.map((f) => (f.key.includes('region=EU') ? 'EU' : 'US'))).toEqual(['EU', 'EU', 'US', 'EU']);
  });
});
