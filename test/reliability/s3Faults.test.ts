import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { startFaultProxy } from '../support/faultProxy.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

describe('S3 faults: transient errors are retried, the output stays exactly once', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  it('every 9th request answered 503 SlowDown and every 5th GET cut mid-body: the run completes exactly once', async () => {
    const bucket = await s3.bucket('bs-faults');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    const { table } = await writeCustomers(store, 'in/', 60_000, 30_000, 10_000);
    const proxy = await startFaultProxy(s3.endpoint, { error503: 9, cutBody: 5 });
    try {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-faults-'));
      const job = path.join(dir, 'job.yaml');
      await writeFile(job, jobYaml({ input: `s3://${bucket}/in/`, model: `s3://${bucket}/models/credit.onnx`, output: `s3://${bucket}/out/`, rowsPerShard: 20_000 }));
      // A short read deadline, so a stalled cut-off body is retried within the test's time.
      const r = await runCli(['run', job, '--local', '--date', '2024-10-01'], { env: { ...s3Env(proxy.endpoint), BATCHSCORE_S3_READ_TIMEOUT_MS: '3000' } });
      expect(r.code, r.stderr).toBe(0);
      expect(proxy.stats.injected503).toBeGreaterThan(3);
      expect(proxy.stats.cut).toBeGreaterThan(1);

    } finally {
      await proxy.stop();
    }
    const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
    const m = await readManifest(out, '2024-10-01');
    expect(m).toMatchObject({ status: 'complete', record_count: 60_000, input_record_count: 60_000, shard_count: 3 });
    const { table: scored } = await readOutputRows(out, m);
    const cmp = compareToReference(scored, table.getChild('customer_id')!.toArray() as BigInt64Array, await referenceScores(table));
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 60_000 });
  });

  it('a permanent error (no such bucket) fails at once with exit 65 and a clear message', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-faults-'));
    const job = path.join(dir, 'job.yaml');
    await writeFile(job, jobYaml({ input: 's3://no-such-bucket-bs/in/', model: CREDIT_MODEL, output: path.join(dir, 'out/') }));
    const t = Date.now();
    const r = await runCli(['run', job, '--local', '--date', '2024-10-01'], { env: s3Env(s3.endpoint) });
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/error \[STORE_NOT_FOUND\]: .*s3:\/\/no-such-bucket-bs\//);
    expect(Date.now() - t).toBeLessThan(20_000);
  });
});
