import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { startFaultProxy } from '../support/faultProxy.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-09-09';
/** The S3 client's own attempts at one request (maxAttempts in S3Store.ts). */
const SDK_ATTEMPTS = 5;
/** How often `run --local` hands a shard out again after a retryable failure (RESTARTS_PER_SHARD in runLocal.ts). */
const LOCAL_RETRIES = 2;

/**
 * Retries live at two layers only: the SDK's, for single requests, and the orchestrator's (Argo, or run --local's
 * parent), for whole shards. A key that fails every request is therefore asked for SDK_ATTEMPTS times by each try
 * of its shard, never SDK_ATTEMPTS × read retries × shard retries.
 */
describe('a persistent S3 failure is tried a bounded, documented number of times', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  /** Two 10k-row files, one shard each: shard 1 reads only in/part-001.parquet. */
  async function setUp() {
    const bucket = await s3.bucket('bs-bound');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    await writeCustomers(store, 'in/', 20_000, 10_000, 5_000);
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-bound-'));
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: `s3://${bucket}/in/`,
        model: `s3://${bucket}/models/credit.onnx`,
        output: `s3://${bucket}/out/`,
        rowsPerShard: 10_000,
      }),
    );
    return { bucket, job };
  }

  /** A proxy answering 503 SlowDown to every request for in/part-001.parquet once the plan is written. */
  async function failingKey(planned: boolean) {
    const seen = { planned, requests: 0 };
    const proxy = await startFaultProxy(s3.endpoint, {
      onRequest: (r) => {
        if (r.kind === 'put' && r.url.includes('/plan.json')) seen.planned = true;
        if (seen.planned && r.url.includes('/in/part-001.parquet')) {
          seen.requests++;
          return '503';
        }
      },
    });
    return { proxy, seen };
  }

  it(`score alone: ${SDK_ATTEMPTS} requests, then exit 75 for the orchestrator to retry`, async () => {
    const { job } = await setUp();
    expect((await runCli(['plan', job, '--date', DATE], { env: s3Env(s3.endpoint) })).code).toBe(0);
    const { proxy, seen } = await failingKey(true);
    try {
      const r = await runCli(['score', job, '--date', DATE, '--shard', '1'], { env: s3Env(proxy.endpoint) });
      expect(r.code, r.stderr).toBe(75);
      expect(r.stderr).toMatch(
        /^batchscore: error \[STORE_TRANSIENT\]: (head|getRange) s3:\/\/.*\/in\/part-001\.parquet: transient failure/m,
      );
      expect(seen.requests).toBe(SDK_ATTEMPTS);
    } finally {
      await proxy.stop();
    }
  });

  it(
    `run --local: the parent hands the shard out ${LOCAL_RETRIES} more times, ` +
      `so ${SDK_ATTEMPTS * (1 + LOCAL_RETRIES)} requests, then exit 75`,
    async () => {
      const { job } = await setUp();
      const { proxy, seen } = await failingKey(false);
      try {
        const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '2'], {
          env: s3Env(proxy.endpoint),
        });
        expect(r.code, r.stderr).toBe(75);
        expect(seen.requests).toBe(SDK_ATTEMPTS * (1 + LOCAL_RETRIES));
        const warnings = r.stderr.split('\n').filter((l) => l.startsWith('batchscore: warning: shard 1'));
        expect(warnings).toHaveLength(LOCAL_RETRIES);
        expect(warnings[0]).toMatch(
          new RegExp(
            String.raw`^batchscore: warning: shard 1: (head|getRange) .*part-001\.parquet: transie` +
              String.raw`nt failure .*; handing it out again in \d+\.\ds \(retry 1 of 2\)$`,
          ),
        );
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('batchscore: error'));
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(
          /^batchscore: error \[STORE_TRANSIENT\]: (head|getRange) s3:\/\/.*\/in\/part-001\.parquet: transient failure/,
        );
      } finally {
        await proxy.stop();
      }
    },
  );
});
