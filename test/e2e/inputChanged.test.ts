import { appendFile, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPlan, writePlan } from '@batchscore/coordinator';
import {
  LocalStore,
  openStore,
  outputLayout,
  parseJobSpec,
  toParquetBytes,
  toShardRecord,
  type ObjectStore,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { scoreShard } from '@batchscore/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { readJson } from '../support/output.js';
import { customersAsText, jobYaml, makeCustomers } from '../support/data.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

/**
 * An input file replaced or rewritten between plan and score is not read: its shard fails with INPUT_CHANGED
 * (exit 65) naming the file, for every format, on disk and on S3, instead of scoring a truncated row and dropping
 * the rest (CSV) or failing as a corrupt footer (Parquet).
 */

const DATE = '2024-07-01';
const FORMATS = ['csv', 'jsonl', 'parquet'] as const;
type Format = (typeof FORMATS)[number];

/** A file of `rows` customers, ids from `first`; the same number of rows gives the same size in every format. */
function fileOf(format: Format, rows: number, first: number): Uint8Array {
  const t = makeCustomers(rows, first);
  return format === 'parquet'
    ? toParquetBytes(t, undefined, 500)
    : new TextEncoder().encode(customersAsText(t, format));
}

/** Same size, other bytes (text: every number's last digit moved on; Parquet: one byte of its data), as a rewrite
 * that only a version check can tell from the planned file. */
function sameSizeOther(format: Format, bytes: Uint8Array): Uint8Array {
  if (format === 'parquet') {
    const other = Uint8Array.from(bytes);
    other[other.length >> 1]! ^= 0xff;
    return other;
  }
  const text = new TextDecoder().decode(bytes);
  return new TextEncoder().encode(text.replace(/\d(?=[,}\n])/g, (d) => String((Number(d) + 1) % 10)));
}

async function planAndScore(dir: string, env: Record<string, string>, change: () => Promise<void>) {
  const job = path.join(dir, 'job.yaml');
  const p = await runCli(['plan', job, '--date', DATE], { env });
  expect(p.code, p.stderr).toBe(0);
  await change();
  return runCli(['score', job, '--date', DATE, '--shard', '0'], { env });
}

function writeJob(dir: string, format: Format, input: string, output: string, model = CREDIT_MODEL) {
  return writeFile(
    path.join(dir, 'job.yaml'),
    jobYaml({ input, format, model, output, rowsPerShard: 1_000_000, bytesPerShard: 1 << 30 }),
  );
}

describe('an input file changed between plan and score (local disk)', () => {
  it.each(FORMATS)('%s: replaced by another file of the same size: the shard fails naming the file', async (format) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-changed-'));
    const store = new LocalStore(dir);
    const bytes = fileOf(format, 1_000, 0);
    await store.put(`in/a.${format}`, bytes);
    await writeJob(dir, format, 'in/', 'out/');
    const file = path.join(dir, 'in', `a.${format}`);
    const r = await planAndScore(dir, {}, async () => {
      const other = sameSizeOther(format, bytes);
      expect(other.length).toBe(bytes.length);
      await writeFile(`${file}.new`, other);
      await rename(`${file}.new`, file);
    });
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toContain(`error [INPUT_CHANGED]: file://${file}: changed since planning (modified at `);
    expect(r.stderr).toContain('run the job again to plan it anew');
  });

  it.each(FORMATS)('%s: appended to in place: the shard fails naming the file', async (format) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-changed-'));
    const store = new LocalStore(dir);
    await store.put(`in/a.${format}`, fileOf(format, 1_000, 0));
    await writeJob(dir, format, 'in/', 'out/');
    const file = path.join(dir, 'in', `a.${format}`);
    const r = await planAndScore(dir, {}, () => appendFile(file, fileOf(format, 10, 5_000)));
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toContain(`error [INPUT_CHANGED]: file://${file}: changed since planning`);
  });

  it('the plan records each file’s size and version; an unchanged file scores as before', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-changed-'));
    const store = new LocalStore(dir);
    await store.put('in/a.csv', fileOf('csv', 1_000, 0));
    await writeJob(dir, 'csv', 'in/', 'out/');
    const r = await planAndScore(dir, {}, async () => {});
    expect(r.code, r.stderr).toBe(0);
    const plan = await readJson<ShardPlan>(new LocalStore(path.join(dir, 'out')), `_batchscore/${DATE}/v3/plan.json`);
    expect(plan.fileCount).toBe(1);
    const files = (await readFile(path.join(dir, 'out', '_batchscore', DATE, 'v3', 'plan.files.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; size: number; version: string });
    const info = (await store.head('in/a.csv'))!;
    expect(files).toEqual([expect.objectContaining({ key: 'a.csv', size: info.size, version: info.version })]);
    expect(info.version).toMatch(/^\d{19}$/);
  });
});

describe('an input object overwritten between plan and score (S3)', () => {
  let s3: S3Server;
  let bucket: string;
  let store: ObjectStore;
  let env: Record<string, string>;

  beforeAll(async () => {
    s3 = await startS3();
    bucket = await s3.bucket('bs-changed');
    store = new S3Store({ bucket, prefix: '', client: s3.client });
    env = s3Env(s3.endpoint);
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
  });
  afterAll(async () => s3?.stop());

  it.each(FORMATS)('%s: every ranged GET carries If-Match, so the shard fails naming the object', async (format) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-changed-s3-'));
    const bytes = fileOf(format, 1_000, 0);
    await store.put(`in-${format}/a.${format}`, bytes);
    await writeJob(
      dir,
      format,
      `s3://${bucket}/in-${format}/`,
      `s3://${bucket}/out-${format}/`,
      `s3://${bucket}/models/credit.onnx`,
    );
    const r = await planAndScore(dir, env, () => store.put(`in-${format}/a.${format}`, sameSizeOther(format, bytes)));
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toContain(
      `error [INPUT_CHANGED]: s3://${bucket}/in-${format}/a.${format}: changed since planning (its ETag is no longer "`,
    );
  });
  it.each(FORMATS)(
    '%s: a retry that resumes after a committed part reads with If-Match too, so it fails naming the object',
    async (format) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-changed-s3-resume-'));
      const bytes = fileOf(format, 2_000, 0);
      const key = `in-resume-${format}/a.${format}`;
      await store.put(key, bytes);
      const yaml = jobYaml({
        input: `s3://${bucket}/in-resume-${format}/`,
        format,
        model: `s3://${bucket}/models/credit.onnx`,
        output: `s3://${bucket}/out-resume-${format}/`,
        rowsPerShard: 1_000_000,
        bytesPerShard: 1 << 30,
      }).replace('  output:\n', '  output:\n    rowsPerPart: 500\n');
      const job = parseJobSpec(yaml, { baseDir: dir });
      const open: StoreFactory = (uri) => openStore(uri, { s3: { client: s3.client } });
      const plan = await createPlan(job, DATE, open);
      await writePlan(open(outputLayout(job).bookkeeping), plan);
      const record = toShardRecord(plan, plan.shards[0]!);
      // Stopped once 700 rows are read: the first part (500 rows) is committed, and the one held at 700 too.
      const stop = new AbortController();
      await expect(
        scoreShard(plan, record, open, { signal: stop.signal, onProgress: (rows) => rows >= 700 && stop.abort() }),
      ).rejects.toMatchObject({ code: 'STOPPED' });
      await store.put(key, sameSizeOther(format, bytes));
      await expect(scoreShard(plan, record, open)).rejects.toMatchObject({
        code: 'INPUT_CHANGED',
        message: expect.stringContaining(`s3://${bucket}/${key}: changed since planning (its ETag is no longer "`),
      });
    },
  );
});
