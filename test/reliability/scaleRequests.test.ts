import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { planObjectKeys, toParquetBytes, type ShardRecord } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers, writeCustomers } from '../support/data.js';
import { startFaultProxy, type LoggedRequest } from '../support/faultProxy.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-09-01';
const FILES = 40;
const FILE_ROWS = 500;
const PLAN = `out/_batchscore/${DATE}/v3/plan.json`;

/**
 * What planning and scoring ask of S3, counted by a recording proxy: a footer is read once, by the planner, with
 * one GET per small file; a pod reads its own shard's record, not the plan's every shard; a shard's files are
 * fetched concurrently.
 */
describe('plan and score requests on S3 do not grow with the input', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  async function setUp(o: { rowsPerShard: number; concurrency?: number }) {
    const bucket = await s3.bucket('bs-scale');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    const { table, keys } = await writeCustomers(store, 'in/', FILES * FILE_ROWS, FILE_ROWS, FILE_ROWS);
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-scale-'));
    const job = path.join(dir, 'job.yaml');
    const extra = o.concurrency ? `  storage: {concurrency: ${o.concurrency}}\n` : '';
    await writeFile(
      job,
      jobYaml({
        input: `s3://${bucket}/in/`,
        model: `s3://${bucket}/models/credit.onnx`,
        output: `s3://${bucket}/out/`,
        rowsPerShard: o.rowsPerShard,
        extra,
      }),
    );
    return { bucket, store, table, keys, job };
  }

  async function recorded<T>(
    fn: (env: Record<string, string>) => Promise<T>,
    delayMs = 0,
  ): Promise<{ result: T; log: LoggedRequest[]; peakInFlight: number }> {
    const proxy = await startFaultProxy(s3.endpoint, { record: true, delayMs });
    try {
      const result = await fn(s3Env(proxy.endpoint));
      return { result, log: proxy.stats.log, peakInFlight: proxy.stats.peakInFlight };
    } finally {
      await proxy.stop();
    }
  }
  const count = (log: LoggedRequest[], pred: (r: LoggedRequest) => boolean) => log.filter(pred).length;

  it(
    'plan reads each small file with one GET and no HEAD, and writes the header, files, ' + 'shards and index',
    async () => {
      const { job } = await setUp({ rowsPerShard: FILE_ROWS });
      const { result, log } = await recorded((env) => runCli(['plan', job, '--date', DATE], { env }));
      expect(result.code, result.stderr).toBe(0);
      const input = log.filter((r) => r.key.startsWith('in/'));
      // One GET a file (the last 64 KiB holds all of a small file); the listing is one request on the bucket.
      expect(input.map((r) => r.kind)).toEqual(Array<string>(FILES).fill('get'));
      expect(count(log, (r) => r.kind === 'list')).toBe(1);
      const keys = planObjectKeys(PLAN);
      expect(
        log
          .filter((r) => r.kind === 'put' && r.key.startsWith('out/_batchscore/'))
          .map((r) => r.key.replace(/\?.*/, ''))
          .sort(),
      ).toEqual([keys.files, keys.header, keys.index, `out/_batchscore/${DATE}/v3/run.lock`, keys.shards].sort());
      // The header is written after the objects it names.
      const puts = log.filter((r) => r.kind === 'put').map((r) => r.key.replace(/\?.*/, ''));
      expect(puts.indexOf(keys.header)).toBe(puts.length - 1);
    },
  );

  it(
    "a score pod reads the plan's header and its own record (3 GETs) and its one small " + 'file with one GET',
    async () => {
      const { job, store } = await setUp({ rowsPerShard: FILE_ROWS });
      expect((await runCli(['plan', job, '--date', DATE], { env: s3Env(s3.endpoint) })).code).toBe(0);
      const header = (await store.head(PLAN))!.size;
      const { result, log } = await recorded((env) => runCli(['score', job, '--date', DATE, '--shard', '17'], { env }));
      expect(result.code, result.stderr).toBe(0);
      const keys = planObjectKeys(PLAN);
      const planReads = log
        .filter((r) => Object.values(keys).includes(r.key.replace(/\?.*/, '')))
        .map((r) => ({ ...r, key: r.key.replace(/\?.*/, '') }));
      expect(planReads.map((r) => [r.kind, r.key])).toEqual([
        ['get', keys.header],
        ['get', keys.index],
        ['get', keys.shards],
      ]);
      // The index entry pair is 26 bytes; the header is the same few KiB whatever the shard count.
      expect(planReads[1]!.bytes).toBe(26);
      expect(planReads[0]!.bytes).toBe(header);
      expect(header).toBeLessThan(8 << 10);
      const input = log.filter((r) => r.key.startsWith('in/'));
      expect(input.map((r) => [r.kind, r.key.replace(/\?.*/, '')])).toEqual([['get', 'in/part-017.parquet']]);
      // All of it but the 4-byte magic at its start, which every Parquet file begins with.
      expect(input[0]!.bytes).toBe((await store.head('in/part-017.parquet'))!.size - 4);
    },
  );

  it("a shard's writes: one listing, the claim, per part its file and record, then the shard's commit", async () => {
    const { job } = await setUp({ rowsPerShard: FILE_ROWS });
    // Parts of 100 rows: shard 17 (500 rows) is written in 5.
    const text = await readFile(job, 'utf8');
    await writeFile(job, text.replace('  output:\n', '  output:\n    rowsPerPart: 100\n'));
    expect((await runCli(['plan', job, '--date', DATE], { env: s3Env(s3.endpoint) })).code).toBe(0);
    const { result, log } = await recorded((env) => runCli(['score', job, '--date', DATE, '--shard', '17'], { env }));
    expect(result.code, result.stderr).toBe(0);
    const shard = `out/_batchscore/${DATE}/v3/shards/00017/`;
    // A listing names its prefix in its query; the other requests name their key.
    const listsShard = (r: LoggedRequest) => r.kind === 'list' && decodeURIComponent(r.key).includes(`prefix=${shard}`);
    const name = (r: LoggedRequest) =>
      r.key
        .slice(shard.length)
        .replace(/\?.*/, '')
        .replace(/[0-9a-f]{16}/, 'PLAN');
    const writes = log
      .filter((r) => r.key.startsWith(shard) || listsShard(r))
      .map((r) => (listsShard(r) ? 'list' : `${r.kind} ${name(r)}`));
    const part = (row: string) => [`put attempt-001/part-00017-${row}.parquet.staged`, `put parts/PLAN/${row}.json`];
    expect(writes).toEqual([
      'list',
      'put attempt-001/_claim.json',
      ...['0000000000', '0000000100', '0000000200', '0000000300', '0000000400'].flatMap(part),
      'put _commit.json',
    ]);
  });

  it(
    'a shard over many files fetches them concurrently (at most spec.storage.concurrency), ' +
      'and scores each row once',
    async () => {
      const { job, table } = await setUp({ rowsPerShard: FILES * FILE_ROWS, concurrency: 8 });
      const direct = { env: s3Env(s3.endpoint) };
      expect((await runCli(['plan', job, '--date', DATE], direct)).code).toBe(0);
      // Each request held 30 ms, as a distant S3 would: one file at a time, the peak was 1.
      const { result, log, peakInFlight } = await recorded(
        (env) => runCli(['score', job, '--date', DATE, '--shard', '0'], { env }),
        30,
      );
      expect(result.code, result.stderr).toBe(0);
      expect(count(log, (r) => r.key.startsWith('in/'))).toBe(FILES);
      expect(peakInFlight).toBe(8);
      expect((await runCli(['merge', job, '--date', DATE], direct)).code).toBe(0);
      const out = new S3Store({ bucket: await readManifestBucket(job), prefix: 'out/', client: s3.client });
      const manifest = await readManifest(out, DATE);
      const { table: scored } = await readOutputRows(out, manifest);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: FILES * FILE_ROWS });
    },
  );

  it(
    'a footer past the last 64 KiB costs the planner a second GET, and a worker then ' +
      'reads its row groups and the tail only',
    async () => {
      const bucket = await s3.bucket('bs-footer');
      const store = new S3Store({ bucket, prefix: '', client: s3.client });
      await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
      // 400 row groups of 100 rows: a footer of well over 64 KiB.
      const t = makeCustomers(40_000, 0);
      const bytes = toParquetBytes(t, undefined, 100);
      await store.put('in/big.parquet', bytes);
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-footer-'));
      const job = path.join(dir, 'job.yaml');
      await writeFile(
        job,
        jobYaml({
          input: `s3://${bucket}/in/`,
          model: `s3://${bucket}/models/credit.onnx`,
          output: `s3://${bucket}/out/`,
          rowsPerShard: 1000,
        }),
      );
      const plan = await recorded((env) => runCli(['plan', job, '--date', DATE], { env }));
      expect(plan.result.code, plan.result.stderr).toBe(0);
      expect(plan.log.filter((r) => r.key.startsWith('in/')).map((r) => r.kind)).toEqual(['get', 'get']);
      const planned = JSON.parse(plan.result.stdout) as { shards: number };
      expect(planned.shards).toBe(40);
      const score = await recorded((env) => runCli(['score', job, '--date', DATE, '--shard', '20'], { env }));
      expect(score.result.code, score.result.stderr).toBe(0);
      const input = score.log.filter((r) => r.key.startsWith('in/'));
      // Its 10 row groups in one GET, and the tail (page indexes, footer) in another; nothing else of the file.
      const record = (await store
        .get(planObjectKeys(PLAN).shards)
        .then((b) => new TextDecoder().decode(b).split('\n')[20]!)) as string;
      const { pieces, files } = JSON.parse(record) as ShardRecord;
      const [start, end] = (pieces[0] as { bytes: [number, number] }).bytes;
      // The two are fetched at once, so they are compared in size order, not in the order they were answered.
      const sizes = (a: number[]) => [...a].sort((x, y) => x - y);
      expect([input.map((r) => r.kind), sizes(input.map((r) => r.bytes))]).toEqual([
        ['get', 'get'],
        sizes([end - start, bytes.length - files[0]!.tailStart!]),
      ]);
      expect(end - start).toBeLessThan(bytes.length / 20);
      // The other shards and the merge, in one local run (the same plan: shard 20 is not scored again).
      const rest = await runCli(['run', job, '--local', '--date', DATE], { env: s3Env(s3.endpoint) });
      expect(rest.code, rest.stderr).toBe(0);
      const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
      const { table: scored } = await readOutputRows(out, await readManifest(out, DATE));
      const cmp = compareToReference(
        scored,
        t.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(t),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 40_000 });
    },
  );
});

async function readManifestBucket(jobFile: string): Promise<string> {
  return /s3:\/\/([^/]+)\/out\//.exec(await readFile(jobFile, 'utf8'))![1]!;
}
