import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../hash.js';
import { checkPublishedRun, damagedShards, describeDamage } from './publishedRun.js';
import { LocalStore } from '../store/LocalStore.js';

describe('checkPublishedRun', () => {
  it('finds missing, short and (verified) altered files of the data and the quarantine', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'bs-published-'));
    const out = new LocalStore(path.join(root, 'run'));
    const q = new LocalStore(path.join(root, 'q'));
    const file = (p: string, body: string) => ({ path: p, rows: 1, bytes: body.length, sha256: sha256Hex(body) });
    await out.put('part-00000-0000.parquet', 'aaaa');
    await out.put('k=v/part-00001-0000.parquet', 'bbXb');
    await out.put('part-00002-0000.parquet', 'cc');
    await q.put('part-00003-0000.parq', 'dddd');
    const m = {
      output: { uri: out.rootUri, columns: [], partition_by: [] },
      files: [
        file('part-00000-0000.parquet', 'aaaa'),
        file('k=v/part-00001-0000.parquet', 'bbbb'),
        file('part-00002-0000.parquet', 'cccc'),
      ],
      quarantine: {
        uri: q.rootUri,
        max_invalid_fraction: 0,
        invalid_fraction: 0,
        by_reason: {},
        files: [file('part-00003-0000.parq', 'dddd'), file('part-00004-0000.parq', 'eeee')],
      },
    };
    const open = (uri: string) => new LocalStore(new URL(uri).pathname);
    const sized = await checkPublishedRun(open, m);
    expect(sized.damaged.map((d) => [d.path, d.problem])).toEqual([
      ['part-00002-0000.parquet', 'size'],
      ['part-00004-0000.parq', 'missing'],
    ]);
    expect(damagedShards(sized)).toEqual([2, 4]);
    expect(describeDamage(sized)).toBe(
      `2 of 5 published files are damaged: ${out.uriOf('part-00002-0000.parquet')} has 2 bytes, the manifest says ` +
        `4; ${q.uriOf('part-00004-0000.parq')} is missing`,
    );
    const verified = await checkPublishedRun(open, m, { verify: true });
    expect(verified.damaged.map((d) => [d.path, d.problem])).toEqual([
      ['part-00002-0000.parquet', 'size'],
      ['k=v/part-00001-0000.parquet', 'sha256'],
      ['part-00004-0000.parq', 'missing'],
    ]);
    expect(describeDamage(verified, 1)).toMatch(/^3 of 5 published files are damaged: .* has 2 bytes, .*, and 2 more$/);
  });
});
