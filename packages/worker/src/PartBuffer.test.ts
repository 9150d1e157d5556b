import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, openParquet, streamParquet } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { PartBuffer } from './PartBuffer.js';

const rows = (n: number, first = 0) =>
  new arrow.Table({ id: arrow.makeVector(Float64Array.from({ length: n }, (_, i) => first + i)) });
const at = (row: number) => ({ row, piece: 0, pieceRow: row });

describe('PartBuffer', () => {
  it('a part is one file per output partition (in name order) and one of quarantined rows, each row once', async () => {
    const part = new PartBuffer(at(100), { features: [], predictions: [] });
    part.addScored('region=US/', rows(600, 2_500));
    part.addScored('region=EU/', rows(250));
    part.addQuarantined(rows(50, 9_000));
    part.addScored('region=EU/', rows(100, 3_100));
    part.end = at(1_100);
    const p = part.toPart({ metadata: {}, executionProvider: 'cpu' });
    expect(p.bytes.map((b) => [b.kind, b.partition, b.rows])).toEqual([
      ['data', 'region=EU/', 350],
      ['data', 'region=US/', 600],
      ['quarantine', '', 50],
    ]);
    expect([p.start.row, p.end.row, p.rowsOut, p.rowsQuarantined]).toEqual([100, 1_100, 950, 50]);
    // The rows as written, read back from the files (not from what the buffer says it wrote).
    const store = new LocalStore(await mkdtemp(path.join(tmpdir(), 'bs-partbuffer-')));
    const ids: number[][] = [];
    for (const [i, b] of p.bytes.entries()) {
      await store.put(`f${i}.parquet`, b.bytes);
      const pf = await openParquet(store, `f${i}.parquet`);
      const got: number[] = [];
      for await (const t of streamParquet(pf, { rowGroups: [0], batchSize: 10_000 }))
        got.push(...(t.getChild('id')!.toArray() as Float64Array));
      pf.free();
      ids.push(got);
    }
    const range = (n: number, first = 0) => Array.from({ length: n }, (_, i) => first + i);
    expect(ids).toEqual([[...range(250), ...range(100, 3_100)], range(600, 2_500), range(50, 9_000)]);
  });

  it('refuses a part whose rows do not add up (read ≠ written + quarantined): a bug, not bad input', () => {
    const part = new PartBuffer(at(0), { features: [], predictions: [] });
    part.addScored('', rows(10));
    part.end = at(11);
    expect(() => part.toPart({ metadata: {}, executionProvider: 'cpu' })).toThrow(
      'rows 0-10: read 11 rows but wrote 10 and quarantined 0',
    );
  });
});
