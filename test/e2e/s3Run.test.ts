import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sha256Hex } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const ROWS = 90_000;
const DATE = '2024-03-01';

describe('batchscore run --local against an S3-protocol server', () => {
  let s3: S3Server;
  let bucket: string;
  let store: S3Store;
  let job: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    s3 = await startS3();
    bucket = await s3.bucket('bs-e2e');
    store = new S3Store({ bucket, prefix: '', client: s3.client });
    env = s3Env(s3.endpoint);
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-s3-'));
    job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: `s3://${bucket}/in/{date}/`,
        model: `s3://${bucket}/models/credit.onnx`,
        output: `s3://${bucket}/scores/`,
        rowsPerShard: 25_000,
      }),
    );
  });
  afterAll(async () => s3?.stop());

  it(
    'reads the dated input with ranged reads, scores each row once with the right score, ' + 'and writes the manifest',
    async () => {
      // Another date's input sits beside it and must not be read.
      await writeCustomers(store, 'in/2024-02-29/', 5_000, 5_000, 5_000, 1_000_000);
      const { table } = await writeCustomers(store, `in/${DATE}/`, ROWS, 40_000, 12_500);
      const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '2'], { env });
      expect(r.code, r.stderr).toBe(0);

      const out = new S3Store({ bucket, prefix: 'scores/', client: s3.client });
      const m = await readManifest(out, DATE);
      const sha = sha256Hex(await readFile(CREDIT_MODEL));
      expect(m).toMatchObject({
        manifest_version: 1,
        status: 'complete',
        record_count: ROWS,
        input_record_count: ROWS,
        batch_date: DATE,
        shard_count: 4,
        model: { uri: `s3://${bucket}/models/credit.onnx`, version: 'v3', sha256: sha },
        input: { uri: `s3://${bucket}/in/${DATE}/`, format: 'parquet', file_count: 3 },
        output: { uri: `s3://${bucket}/scores/batch_date=${DATE}/model_version=v3/` },
      });
      for (const f of m.files) {
        expect((await out.head(`batch_date=${DATE}/model_version=v3/${f.path}`))?.size).toBe(f.bytes);
        expect(sha256Hex(await out.get(`batch_date=${DATE}/model_version=v3/${f.path}`))).toBe(f.sha256);
      }
      const { table: scored } = await readOutputRows(out, m);
      const ref = await referenceScores(table);
      const cmp = compareToReference(scored, table.getChild('customer_id')!.toArray() as BigInt64Array, ref);
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: cmp.maxDiff, rows: ROWS });
      expect(cmp.maxDiff).toBe(0); // bit for bit: batching and tuning never change a score on CPU
    },
  );

  it('fails with a one-line error and no manifest when the input date has no files', async () => {
    const r = await runCli(['run', job, '--local', '--date', '2024-03-02'], { env });
    expect(r.code).toBe(65);
    expect(r.stderr.trim().split('\n')).toEqual([
      `batchscore: error [INPUT_NOT_FOUND]: s3://${bucket}/in/2024-03-02/: no parquet files ` +
        `found; spec.input.format is parquet`,
    ]);
    const out = new S3Store({ bucket, prefix: 'scores/', client: s3.client });
    expect(await out.head('batch_date=2024-03-02/model_version=v3/_batch_manifest.json')).toBeUndefined();
  });
});
