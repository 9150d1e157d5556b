import { describe, expect, it } from 'vitest';
import {
  commitKey,
  escapePartitionValue,
  failureKey,
  attemptClaimKey,
  attemptEndKey,
  attemptDir,
  finalPartKey,
  manifestKey,
  pad,
  parseHivePartitions,
  partFileName,
  partitionPath,
  partRecordKey,
  partRecordsDir,
  planKey,
  runDir,
  runId,
  shardDir,
  stagedPartKey,
  stagedPartOf,
  stagingDir,
} from './keys.js';

const r = { batchDate: '2024-01-31', modelVersion: 'v3' };

describe('run keys', () => {
  it('names the run folder, manifest, failure marker and plan', () => {
    expect(runDir(r)).toBe('batch_date=2024-01-31/model_version=v3/');
    expect(manifestKey(r)).toBe('batch_date=2024-01-31/model_version=v3/_batch_manifest.json');
    expect(failureKey(r)).toBe('batch_date=2024-01-31/model_version=v3/_batch_failure.json');
    // Below the bookkeeping folder (outputLayout: {uri}_batchscore/ unless spec.output.bookkeepingUri).
    expect(stagingDir(r)).toBe('2024-01-31/v3/');
    expect(planKey(r)).toBe('2024-01-31/v3/plan.json');
  });

  it('names shard folders and commit markers with 5-digit shard numbers', () => {
    expect(shardDir(r, 0)).toBe('2024-01-31/v3/shards/00000/');
    expect(shardDir(r, 12345)).toBe('2024-01-31/v3/shards/12345/');
    expect(commitKey(r, 7)).toBe('2024-01-31/v3/shards/00007/_commit.json');
  });

  it('names staged parts by their shard and first input row, with and without a partition path', () => {
    expect(partFileName(3, 250_000)).toBe('part-00003-0000250000.parquet');
    expect(stagedPartKey(r, 3, 1, '', 0)).toBe(
      '2024-01-31/v3/shards/00003/attempt-001/part-00003-0000000000.parquet.staged',
    );
    // Quarantined rows: no partition folders, a .parq name, and a folder without '=' (never a hive partition).
    expect(stagedPartKey(r, 3, 1, '', 2_000, 'quarantine')).toBe(
      '2024-01-31/v3/shards/00003/attempt-001/quarantine/part-00003-0000002000.parq.staged',
    );
    expect(attemptClaimKey(r, 3, 12)).toBe('2024-01-31/v3/shards/00003/attempt-012/_claim.json');
    expect(attemptEndKey(r, 3, 12)).toBe('2024-01-31/v3/shards/00003/attempt-012/_end.json');
    expect(() => attemptDir(r, 3, 0)).toThrow(RangeError);
    expect(stagedPartKey(r, 3, 1, 'region=EU/', 100)).toBe(
      '2024-01-31/v3/shards/00003/attempt-001/region=EU/part-00003-0000000100.parquet.staged',
    );
    // A shard of more rows than the padding holds still names each part apart (longer names).
    expect(partFileName(3, 12_345_678_901)).toBe('part-00003-12345678901.parquet');
  });

  it("names a part's record by plan and first row, and reads a staged part's attempt and first row back", () => {
    expect(partRecordKey(r, 3, 'plan-1', 500)).toBe('2024-01-31/v3/shards/00003/parts/plan-1/0000000500.json');
    expect(partRecordsDir(r, 3, 'plan-1')).toBe('2024-01-31/v3/shards/00003/parts/plan-1/');
    for (const k of [
      stagedPartKey(r, 3, 7, '', 500),
      stagedPartKey(r, 3, 7, 'region=EU/dt=x/', 500),
      stagedPartKey(r, 3, 7, '', 500, 'quarantine'),
    ])
      expect(stagedPartOf(k)).toEqual({ attempt: 7, partStart: 500 });
    expect(stagedPartOf(attemptClaimKey(r, 3, 7))).toBeUndefined();
    expect(stagedPartOf('batch_date=2024-01-31/model_version=v3/part-00003-0000000500.parquet')).toBeUndefined();
  });

  it('maps a staged part to its final key below the run folder', () => {
    expect(finalPartKey(r, 3, stagedPartKey(r, 3, 1, '', 0))).toBe(
      'batch_date=2024-01-31/model_version=v3/part-00003-0000000000.parquet',
    );
    expect(finalPartKey(r, 3, stagedPartKey(r, 3, 2, 'region=EU/dt=x/', 2))).toBe(
      'batch_date=2024-01-31/model_version=v3/region=EU/dt=x/part-00003-0000000002.parquet',
    );
    expect(finalPartKey(r, 3, stagedPartKey(r, 3, 2, '', 1, 'quarantine'))).toBe(
      'batch_date=2024-01-31/model_version=v3/part-00003-0000000001.parq',
    );
  });

  it('refuses to map a key outside the shard folder', () => {
    expect(() => finalPartKey(r, 4, stagedPartKey(r, 3, 1, '', 0))).toThrow(RangeError);
    expect(() => finalPartKey({ ...r, modelVersion: 'v4' }, 3, stagedPartKey(r, 3, 1, '', 0))).toThrow(
      /is not a staged part below/,
    );
    expect(() => finalPartKey(r, 3, 'batch_date=2024-01-31/model_version=v3/part-00003-0000.parquet')).toThrow(
      RangeError,
    );
    // A part staged outside an attempt folder is not a part of any attempt.
    expect(() => finalPartKey(r, 3, '2024-01-31/v3/shards/00003/part-00003-0000.parquet.staged')).toThrow(RangeError);
    // Not staged (no .staged suffix): never published.
    expect(() => finalPartKey(r, 3, '2024-01-31/v3/shards/00003/attempt-001/part-00003-0000.parquet')).toThrow(
      RangeError,
    );
  });

  it('runId is deterministic: job, date, version and 12 hex digits of the model hash', () => {
    const sha = 'abcdef0123456789'.repeat(4);
    expect(runId('credit-risk', r, sha)).toBe('credit-risk-2024-01-31-v3-abcdef012345');
    expect(runId('credit-risk', { ...r }, sha)).toBe(runId('credit-risk', r, sha));
    expect(runId('credit-risk', r, '0'.repeat(64))).not.toBe(runId('credit-risk', r, sha));
    expect(runId('credit-risk', { ...r, batchDate: '2024-02-01' }, sha)).not.toBe(runId('credit-risk', r, sha));
  });
});

describe('pad', () => {
  it('zero-pads to the width', () => {
    expect(pad(0, 5)).toBe('00000');
    expect(pad(42, 5)).toBe('00042');
    expect(pad(99999, 5)).toBe('99999');
    expect(pad(7, 1)).toBe('7');
  });

  it('throws for too many digits, negatives and non-integers', () => {
    expect(() => pad(100000, 5)).toThrow(RangeError);
    expect(() => pad(100000, 5)).toThrow('100000 needs more than 5 digits');
    expect(() => pad(-1, 5)).toThrow(RangeError);
    expect(() => pad(1.5, 5)).toThrow(RangeError);
    expect(() => pad(Number.NaN, 5)).toThrow(RangeError);
  });

  it('makes shard keys throw past 99999 shards rather than colliding', () => {
    expect(() => shardDir(r, 100000)).toThrow(RangeError);
    expect(() => partFileName(100000, 0)).toThrow(RangeError);
  });
});

describe('partition paths', () => {
  it('builds hive folders, one per column, each ending in /', () => {
    expect(partitionPath([], [])).toBe('');
    expect(partitionPath(['region'], ['EU'])).toBe('region=EU/');
    expect(partitionPath(['region', 'dt'], ['EU', '2024-01-01'])).toBe('region=EU/dt=2024-01-01/');
  });

  it("%-escapes '/', '=' and other special characters so a value cannot forge a folder", () => {
    expect(escapePartitionValue('a/b')).toBe('a%2Fb');
    expect(escapePartitionValue('k=v')).toBe('k%3Dv');
    expect(escapePartitionValue('50%')).toBe('50%25');
    expect(escapePartitionValue('a\nb:c')).toBe('a%0Ab%3Ac');
    expect(escapePartitionValue('plain value-1.é')).toBe('plain value-1.é');
    // Column names are escaped as values are (Hive's escapePathName), and read back.
    expect(partitionPath(['a=b/c', 'Annual Income'], ['x', 'y'])).toBe('a%3Db%2Fc=x/Annual Income=y/');
    expect(parseHivePartitions('in/a%3Db%2Fc=x/Annual Income=y%2Fz/f.parquet')).toEqual({
      'a=b/c': 'x',
      'Annual Income': 'y/z',
    });
    expect(partitionPath(['p'], ['../x=y/z'])).toBe('p=..%2Fx%3Dy%2Fz/');
  });

  it("writes '' (and a missing value) as __HIVE_DEFAULT_PARTITION__", () => {
    expect(escapePartitionValue('')).toBe('__HIVE_DEFAULT_PARTITION__');
    expect(partitionPath(['a', 'b'], ['x', ''])).toBe('a=x/b=__HIVE_DEFAULT_PARTITION__/');
    expect(partitionPath(['a', 'b'], ['x'])).toBe('a=x/b=__HIVE_DEFAULT_PARTITION__/');
  });
});

describe('parseHivePartitions', () => {
  it('reads k=v folders above the file name', () => {
    expect(parseHivePartitions('region=EU/dt=2024-01-01/f.parquet')).toEqual({ region: 'EU', dt: '2024-01-01' });
    expect(parseHivePartitions('f.parquet')).toEqual({});
    expect(parseHivePartitions('plain/region=EU/x=1.parquet')).toEqual({ region: 'EU' });
    expect(parseHivePartitions('=x/k=a=b/f')).toEqual({ k: 'a=b' });
  });

  it('decodes %-escapes and the default partition', () => {
    expect(parseHivePartitions('region=a%2Fb/dt=__HIVE_DEFAULT_PARTITION__/f.parquet')).toEqual({
      region: 'a/b',
      dt: null,
    });
    expect(parseHivePartitions('p=100%/f')).toEqual({ p: '100%' }); // a malformed escape is kept raw
  });

  it('round-trips values through partitionPath', () => {
    const values = ['EU', 'a/b', 'x=y', '50%', null, 'é ü', '#?*', 'a\\b', '%2F'];
    for (const v of values) {
      expect(parseHivePartitions(`${partitionPath(['c'], [v])}part.parquet`)).toEqual({ c: v });
    }
    // The empty string is Hive's null too: a folder cannot tell them apart.
    expect(parseHivePartitions(`${partitionPath(['c'], [''])}part.parquet`)).toEqual({ c: null });
  });
});
