import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { startFaultProxy, type FaultOptions } from '../support/faultProxy.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

describe('S3 faults: transient errors are retried, the output stays exactly once', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  /**
   * Puts the model and 60k input rows in a fresh bucket, runs the job through a proxy injecting `faults`, and checks
   * the run completed exactly once. Returns the proxy's counts.
   */
  async function runThroughFaults(faults: FaultOptions, env: Record<string, string> = {}) {
    const bucket = await s3.bucket('bs-faults');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    const { table } = await writeCustomers(store, 'in/', 60_000, 30_000, 10_000);
    const proxy = await startFaultProxy(s3.endpoint, faults);
    try {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-faults-'));
      const job = path.join(dir, 'job.yaml');
      await writeFile(
        job,
        jobYaml({
          input: `s3://${bucket}/in/`,
          model: `s3://${bucket}/models/credit.onnx`,
          output: `s3://${bucket}/out/`,
          rowsPerShard: 20_000,
        }),
      );
      // A short read deadline, so a stalled cut-off body is retried within the test's time.
      const r = await runCli(['run', job, '--local', '--date', '2024-10-01'], {
        env: { ...s3Env(proxy.endpoint), BATCHSCORE_S3_READ_TIMEOUT_MS: '3000', ...env },
      });
      expect(r.code, r.stderr).toBe(0);
    } finally {
      await proxy.stop();
    }
    const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
    const m = await readManifest(out, '2024-10-01');
    expect(m).toMatchObject({ status: 'complete', record_count: 60_000, input_record_count: 60_000, shard_count: 3 });
    const { table: scored } = await readOutputRows(out, m);
    const cmp = compareToReference(
      scored,
      table.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(table),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 60_000 });
    return proxy.stats;
  }

  it(
    'every 9th request answered 503 SlowDown and every 5th GET cut mid-body: the run ' + 'completes exactly once',
    async () => {
      const stats = await runThroughFaults({ error503: 9, cutBody: 5 });
      expect(stats.injected503).toBeGreaterThan(3);
      expect(stats.cut).toBeGreaterThan(1);
    },
  );

  it('every 7th request answered 500 InternalError: retried, the run completes exactly once', async () => {
    const stats = await runThroughFaults({ error500: 7 });
    expect(stats.injected500).toBeGreaterThan(3);
  });

  it(
    'every 8th connection reset before any response (the request never reaches S3): retried, ' +
      'the run completes exactly once',
    async () => {
      const stats = await runThroughFaults({ reset: 8 });
      expect(stats.reset).toBeGreaterThan(3);
    },
  );

  it(
    'every 8th request done by S3 but its answer lost (connection reset): retried, the ' + 'run completes exactly once',
    async () => {
      // The retries redo writes that already landed: the lease, parts, commit records, copies, deletes, the manifest.
      const stats = await runThroughFaults({ resetAfterForward: 8 });
      expect(stats.resetAfterForward).toBeGreaterThan(3);
    },
  );

  it(
    'every 15th request never answered (a stalled response): it times out, is retried, ' +
      'and the run completes exactly once',
    async () => {
      const stats = await runThroughFaults({ stall: 15 }, { BATCHSCORE_S3_READ_TIMEOUT_MS: '2000' });
      expect(stats.stalled).toBeGreaterThan(1);
      // Writes stall too (the 15th request is the plan's PUT), not only the reads that have their own deadline.
      expect(stats.stalledKinds.some((k) => k !== 'get')).toBe(true);
    },
  );

  it(
    'an exclusive create whose answer is lost: the retry meets our own object (ours: ' +
      "true), or another writer's (false)",
    async () => {
      const bucket = await s3.bucket('bs-faults');
      // Every 2nd request is done by S3 and its answer lost; the SDK retries it.
      const proxy = await startFaultProxy(s3.endpoint, { resetAfterForward: 2 });
      const client = new S3Client({
        endpoint: proxy.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 5,
      });
      try {
        const store = new S3Store({ bucket, prefix: '', client });
        expect(await store.head('lock.json')).toBeUndefined(); // request 1
        // Request 2 creates it unheard; the SDK's retry gets 412 and finds our bytes there.
        expect(await store.putIfAbsent('lock.json', '{"runId":"a"}')).toBe(true);
        // Another body: refused, whether or not the first answer got through.
        expect(await store.putIfAbsent('lock.json', '{"runId":"b"}')).toBe(false);
        expect(proxy.stats.resetAfterForward).toBeGreaterThanOrEqual(2);
        expect(
          new TextDecoder().decode(await new S3Store({ bucket, prefix: '', client: s3.client }).get('lock.json')),
        ).toBe('{"runId":"a"}');
      } finally {
        client.destroy();
        await proxy.stop();
      }
    },
  );

  it('403 AccessDenied on every request to the bucket: exit 65 at once, naming the URI', async () => {
    const proxy = await startFaultProxy(s3.endpoint, { deny: true });
    try {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-faults-'));
      const job = path.join(dir, 'job.yaml');
      await writeFile(
        job,
        jobYaml({ input: 's3://bs-denied/in/', model: CREDIT_MODEL, output: 's3://bs-denied/out/' }),
      );
      const t = Date.now();
      const r = await runCli(['run', job, '--local', '--date', '2024-10-01'], { env: s3Env(proxy.endpoint) });
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toMatch(/^batchscore: error \[STORE_DENIED\]: .*s3:\/\/bs-denied\/in\/.*access denied/m);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(Date.now() - t).toBeLessThan(20_000);
      // Not retried: one denied answer is enough to know.
      expect(proxy.stats.denied).toBeLessThanOrEqual(2);
    } finally {
      await proxy.stop();
    }
  });

  it('a permanent error (no such bucket) fails at once with exit 65 and a clear message', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-faults-'));
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({ input: 's3://no-such-bucket-bs/in/', model: CREDIT_MODEL, output: path.join(dir, 'out/') }),
    );
    const t = Date.now();
    const r = await runCli(['run', job, '--local', '--date', '2024-10-01'], { env: s3Env(s3.endpoint) });
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/error \[STORE_NOT_FOUND\]: .*s3:\/\/no-such-bucket-bs\//);
    expect(Date.now() - t).toBeLessThan(20_000);
  });
});
