import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchscoreError } from './errors.js';
import type { InputFile, Shard, ShardPlan } from './plan.js';
import {
  planObjectKeys,
  readPlan,
  readPlanHeader,
  readShardRecord,
  toPlanHeader,
  toPlanObjects,
  toShardRecord,
  writePlanObjects,
} from './planObjects.js';
import { LocalStore } from './store/LocalStore.js';

const KEY = '_batchscore/2024-01-01/v1/plan.json';

function makePlan(shardCount: number, planId = 'p1'): ShardPlan {
  const files: InputFile[] = Array.from({ length: shardCount }, (_, i) => ({
    key: `d=${i % 3}/f${i}.parquet`,
    size: 1000 + i,
    partitionValues: { d: String(i % 3) },
    rowGroups: [5, 5],
    rowGroupBytes: [400, 500],
    tailStart: 904,
  }));
  const shards: Shard[] = files.map((_, i) => ({
    index: i,
    rows: 10,
    pieces: [{ file: i, rowGroupStart: 0, rowGroupEnd: 2, rows: 10, bytes: [4, 904] }],
  }));
  return {
    apiVersion: 'batchscore.dev/v1alpha1',
    kind: 'ShardPlan',
    runId: 'job-2024-01-01-v1-abc',
    planId,
    batchDate: '2024-01-01',
    job: { metadata: { name: 'job' } } as ShardPlan['job'],
    inputUri: 'file:///in/',
    format: 'parquet',
    model: { uri: 'file:///m.onnx', version: 'v1', sha256: 'ab'.repeat(32), bytes: 10 },
    columnTypes: { x: 'Float64' },
    totalRows: 10 * shardCount,
    shardCount,
    fileCount: shardCount,
    inputBytes: files.reduce((n, f) => n + f.size, 0),
    createdAt: '2024-01-02T00:00:00.000Z',
    files,
    shards,
  };
}

describe('plan objects', () => {
  it('are named beside the header', () => {
    expect(planObjectKeys(KEY)).toEqual({
      header: KEY,
      files: '_batchscore/2024-01-01/v1/plan.files.jsonl',
      shards: '_batchscore/2024-01-01/v1/plan.shards.jsonl',
      index: '_batchscore/2024-01-01/v1/plan.shards.idx',
    });
  });

  it('keep the header the same size whatever the shard count, and index each line by a fixed-width offset', () => {
    const small = toPlanObjects(makePlan(10));
    const large = toPlanObjects(makePlan(10_000));
    // Only the counts and the input's size differ.
    const counts = (h: string) => ({ ...JSON.parse(h), totalRows: 0, shardCount: 0, fileCount: 0, inputBytes: 0 });
    expect(counts(large.header)).toEqual(counts(small.header));
    const digits = (p: ShardPlan) => `${p.totalRows}${p.shardCount}${p.fileCount}${p.inputBytes}`.length;
    expect(large.header.length - small.header.length).toBe(digits(makePlan(10_000)) - digits(makePlan(10)));
    expect(small.index.split('\n').slice(0, 3)).toEqual([
      '000000000000',
      String(small.shards.indexOf('\n') + 1).padStart(12, '0'),
      expect.stringMatching(/^\d{12}$/),
    ]);
    expect(small.index.length).toBe(11 * 13);
    expect(small.shards.split('\n')[3]).toBe(JSON.stringify(toShardRecord(makePlan(10), makePlan(10).shards[3]!)));
  });

  it('give a shard its record with only what reading its files needs (no footer sizes)', () => {
    const plan = makePlan(3);
    expect(toShardRecord(plan, plan.shards[2]!)).toEqual({
      index: 2,
      rows: 10,
      planId: 'p1',
      pieces: [{ file: 2, rowGroupStart: 0, rowGroupEnd: 2, rows: 10, bytes: [4, 904] }],
      files: { 2: { key: 'd=2/f2.parquet', size: 1002, partitionValues: { d: '2' }, tailStart: 904 } },
    });
  });

  it('read back as written: the header, one record by two ranged reads, the whole plan', async () => {
    const store = new LocalStore(await mkdtemp(path.join(tmpdir(), 'bs-plan-')));
    const plan = makePlan(25);
    await writePlanObjects(store, KEY, plan);
    const header = await readPlanHeader(store, KEY);
    expect(header).toEqual(toPlanHeader(plan));
    for (const i of [0, 13, 24])
      expect(await readShardRecord(store, KEY, header, i)).toEqual(toShardRecord(plan, plan.shards[i]!));
    expect(await readPlan(store, KEY)).toEqual(plan);
    await expect(readShardRecord(store, KEY, header, 25)).rejects.toThrow(
      'shard 25 does not exist: the plan has 25 shards (0-24)',
    );
  });

  it(
    'refuse a record of another plan (the plan rewritten while a pod read it) as retryable, ' +
      'and an older inline plan',
    async () => {
      const store = new LocalStore(await mkdtemp(path.join(tmpdir(), 'bs-plan-')));
      await writePlanObjects(store, KEY, makePlan(5, 'old'));
      const oldHeader = await readPlanHeader(store, KEY);
      await writePlanObjects(store, KEY, makePlan(5, 'new'));
      const err = await readShardRecord(store, KEY, oldHeader, 2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BatchscoreError);
      expect((err as BatchscoreError).retryable).toBe(true);
      expect((err as Error).message).toBe(
        `${store.uriOf(planObjectKeys(KEY).shards)} bytes ${(err as Error).message.match(/bytes (\d+-\d+)/)![1]}: ` +
          `holds shard 2 of plan new, not shard 2 of plan old; the plan was rewritten while ` +
          `it was read`,
      );
      await store.put(KEY, JSON.stringify({ ...makePlan(2), shardCount: undefined }));
      await expect(readPlanHeader(store, KEY)).rejects.toThrow(
        `${store.uriOf(KEY)}: a plan written by an older batchscore (it holds its shards inline); plan the run again`,
      );
      await expect(readPlanHeader(store, 'nope/plan.json')).rejects.toThrow(
        `${store.uriOf('nope/plan.json')}: no plan there; run \`batchscore plan\` first`,
      );
    },
  );
});
