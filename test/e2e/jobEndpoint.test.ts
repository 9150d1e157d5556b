import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { toJobJson } from '@batchscore/coordinator';
import { readJobFile } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWithoutEndpoint, runCliWithEnv } from '../support/cleanEnv.js';
import { CREDIT_MODEL } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { startFaultProxy } from '../support/faultProxy.js';
import { readManifest } from '../support/output.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-11-02';

/** Credentials and region for the test server, and no endpoint: the job file must name it. */
function credentialsOnly(): Record<string, string> {
  const { AWS_ENDPOINT_URL_S3: _, BATCHSCORE_S3_FORCE_PATH_STYLE: __, ...creds } = s3Env('http://unused');
  return envWithoutEndpoint(creds);
}

describe('spec.storage.s3.endpoint is the only place the endpoint is given', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  async function setUp(endpoint: string) {
    const bucket = await s3.bucket('bs-endpoint');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    await writeCustomers(store, 'in/', 20_000, 10_000, 5_000);
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-endpoint-'));
    const job = path.join(dir, 'job.yaml');
    const extra = `  storage: {s3: {endpoint: "${endpoint}", forcePathStyle: true}}\n`;
    await writeFile(
      job,
      jobYaml({
        input: `s3://${bucket}/in/`,
        model: `s3://${bucket}/models/credit.onnx`,
        output: `s3://${bucket}/out/`,
        rowsPerShard: 10_000,
        extra,
      }),
    );
    return { bucket, job, out: new S3Store({ bucket, prefix: 'out/', client: s3.client }) };
  }

  it('the child environment has no endpoint variable', () => {
    expect(
      Object.keys(credentialsOnly()).filter(
        (k) => k.startsWith('AWS_ENDPOINT_URL') || k === 'BATCHSCORE_S3_FORCE_PATH_STYLE',
      ),
    ).toEqual([]);
  });

  it('run --local: the workers reach the store the job names, and the run completes', async () => {
    const { job, out } = await setUp(s3.endpoint);
    const r = await runCliWithEnv(['run', job, '--local', '--date', DATE, '--workers', '2'], credentialsOnly(), 90_000);
    expect(r.killed, `hung: ${r.stderr}`).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const m = await readManifest(out, DATE);
    expect(m).toMatchObject({ status: 'complete', record_count: 20_000, shard_count: 2 });
  });

  it('score --job-json (what an Argo pod runs) reads the plan from the store the job names', async () => {
    const { job } = await setUp(s3.endpoint);
    const env = credentialsOnly();
    const p = await runCliWithEnv(['plan', job, '--date', DATE], env, 60_000);
    expect(p.code, p.stderr).toBe(0);
    const jobJson = toJobJson(await readJobFile(job));
    const r = await runCliWithEnv(['score', '--job-json', jobJson, '--date', DATE, '--shard', '1'], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ shard: 1, rowsIn: 10_000, rowsOut: 10_000 });
  });

  it('a worker that fails at start-up ends run --local with its error within seconds, not a hang', async () => {
    // Once the plan is written (after the parent checked the model), every read of the model is denied: each
    // worker then fails while loading it, before taking a shard.
    let planned = false;
    let deniedModelReads = 0;
    const proxy = await startFaultProxy(s3.endpoint, {
      onRequest: (r) => {
        if (r.kind === 'put' && r.url.includes('/plan.json')) planned = true;
        if (planned && r.url.includes('/models/credit.onnx')) {
          deniedModelReads++;
          return '403';
        }
      },
    });
    try {
      const { job } = await setUp(proxy.endpoint);
      const r = await runCliWithEnv(
        ['run', job, '--local', '--date', DATE, '--workers', '2'],
        credentialsOnly(),
        30_000,
      );
      expect(r.killed, `hung for ${r.ms} ms: ${r.stderr}`).toBe(false);
      expect(r.code, r.stderr).toBe(65);
      expect(deniedModelReads).toBeGreaterThan(0);
      expect(r.stderr).toMatch(/^batchscore: error \[STORE_DENIED\]: .*models\/credit\.onnx: access denied/m);
      expect(r.ms).toBeLessThan(20_000);
    } finally {
      await proxy.stop();
    }
  });
});
