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

const DATE = '2024-09-01';
const SHARDS = 24;
/** Each shard's 500 rows are written as 4 parts of 125: 96 parts to copy, more than the default limit. */
const PARTS = 4;

describe('merge sends its requests with bounded concurrency', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  // Default 64: the 96 parts are copied 64 at a time (the 24 commit records all read at once); with 4, never more than
  // 4.
  it.each([
    [undefined, 64],
    [4, 4],
  ])(
    'spec.storage.concurrency %s: %s requests in flight at the peak (it was one at a ' +
      'time), and the run is exactly once',
    async (concurrency, limit) => {
      const bucket = await s3.bucket('bs-merge');
      const store = new S3Store({ bucket, prefix: '', client: s3.client });
      await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
      const { table } = await writeCustomers(store, 'in/', SHARDS * 500, SHARDS * 500, 500);
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-merge-'));
      const job = path.join(dir, 'job.yaml');
      const extra = concurrency === undefined ? '' : `  storage: {concurrency: ${concurrency}}\n`;
      const yaml = jobYaml({
        input: `s3://${bucket}/in/`,
        model: `s3://${bucket}/models/credit.onnx`,
        output: `s3://${bucket}/out/`,
        rowsPerShard: 500,
        extra,
      });
      await writeFile(job, yaml.replace('  output:\n', `  output:\n    rowsPerPart: ${500 / PARTS}\n`));
      const direct = { env: s3Env(s3.endpoint) };
      expect((await runCli(['plan', job, '--date', DATE], direct)).code).toBe(0);
      // Every shard scored by one process, as a Workflow's only score pod would (the model loaded once): what is
      // measured is merge.
      const stride = await runCli(['score', job, '--date', DATE, '--pod', '0', '--pods', '1'], direct);
      expect(stride.code, stride.stderr).toBe(0);
      expect(stride.stdout.trim().split('\n')).toHaveLength(SHARDS);
      // Merge alone, through a proxy that holds every request 30 ms, as a distant S3 would.
      const proxy = await startFaultProxy(s3.endpoint, { delayMs: 30 });
      try {
        const m = await runCli(['merge', job, '--date', DATE], { env: s3Env(proxy.endpoint) });
        expect(m.code, m.stderr).toBe(0);
        expect(proxy.stats.peakInFlight).toBe(limit);
      } finally {
        await proxy.stop();
      }
      const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
      const manifest = await readManifest(out, DATE);
      expect(manifest.shard_count).toBe(SHARDS);
      expect(manifest.files).toHaveLength(SHARDS * PARTS);
      const { table: scored } = await readOutputRows(out, manifest);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: SHARDS * 500 });
    },
  );
});
