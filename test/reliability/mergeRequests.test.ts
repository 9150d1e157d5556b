/**
 * What merge asks of S3, counted by kind through the fault proxy: about 2 requests per shard (one GET of its
 * commit record, one CopyObject of its part) plus a few per run (the plan, the manifest, the lease, the baseline's
 * 7 days, 3 listings, batched deletes). At 10,000 shards and 20 ms a request every extra request per shard is
 * 200 s of requests, a few seconds even 64 at a time.
 */
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

const DATE = '2024-09-03';
const SHARDS = 24;
const RUN = `batch_date=${DATE}/model_version=v3/`;
const STAGING = `_batchscore/${DATE}/v3/`;

describe('merge sends about 2 requests per shard', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  it(
    `${SHARDS} shards of one part each: exactly these requests by kind (at most 4 per ` +
      `shard), exactly once; a merge of the complete run lists its files and removes leftover ` +
      `staged parts`,
    async () => {
      const bucket = await s3.bucket('bs-requests');
      const store = new S3Store({ bucket, prefix: '', client: s3.client });
      await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
      const { table } = await writeCustomers(store, 'in/', SHARDS * 500, SHARDS * 500, 500);
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-requests-'));
      const job = path.join(dir, 'job.yaml');
      await writeFile(
        job,
        jobYaml({
          input: `s3://${bucket}/in/`,
          model: `s3://${bucket}/models/credit.onnx`,
          output: `s3://${bucket}/out/`,
          rowsPerShard: 500,
        }),
      );
      const direct = { env: s3Env(s3.endpoint) };
      expect((await runCli(['plan', job, '--date', DATE], direct)).code).toBe(0);
      // Every shard scored by one process, as a Workflow's only score pod would (the model loaded once): what is
      // measured is merge.
      const stride = await runCli(['score', job, '--date', DATE, '--pod', '0', '--pods', '1'], direct);
      expect(stride.code, stride.stderr).toBe(0);
      expect(stride.stdout.trim().split('\n')).toHaveLength(SHARDS);
      const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
      // A part left in the run folder by an earlier run of this date and version: merge removes it before the manifest.
      await out.put(`${RUN}part-99999-0000.parquet`, 'stale');

      const merge = async () => {
        const proxy = await startFaultProxy(s3.endpoint, {});
        try {
          const m = await runCli(['merge', job, '--date', DATE], { env: s3Env(proxy.endpoint) });
          expect(m.code, m.stderr).toBe(0);
          return proxy.stats;
        } finally {
          await proxy.stop();
        }
      };

      const first = await merge();
      expect(first.byKind).toEqual({
        // The plan's header, files and shards, the manifest (absent), the lease, one per commit record, 7 earlier
        // days' manifests (absent).
        get: 3 + 1 + 1 + SHARDS + 7,
        // The staged parts (their sizes, and what to clean up), the run folder and the quarantine's (stale parts).
        list: 3,
        // Each staged part to its final key; the staged copies go after the manifest.
        copy: SHARDS,
        // The manifest.
        put: 1,
        // The stale part before the manifest; after it, the failure record (among the records: the manifests'
        // folder), then the staged parts and the attempts' claims (the bookkeeping's).
        deleteMany: 3,
      });
      expect(first.requests).toBe(SHARDS * 2 + 19);
      expect(first.requests).toBeLessThanOrEqual(4 * SHARDS);

      const manifest = await readManifest(out, DATE);
      expect(manifest.shard_count).toBe(SHARDS);
      const { table: scored } = await readOutputRows(out, manifest);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: SHARDS * 500 });
      // Nothing but the manifest's parts in the run folder, and nothing of the attempts left staged.
      expect((await out.list(RUN)).map((o) => o.key).sort()).toEqual(
        [...manifest.files.map((f) => RUN + f.path), `${RUN}_batch_manifest.json`].sort(),
      );
      expect((await out.list(STAGING)).map((o) => o.key).filter((k) => /\/attempt-\d+\//.test(k))).toEqual([]);

      // Merging the complete run again: the plan (3 objects), the manifest, one listing of the run folder (are its
      // published files all there, with their sizes? no quarantine files to list), and one listing that finds nothing
      // left to remove.
      const second = await merge();
      expect(second.byKind).toEqual({ get: 4, list: 2 });

      // A merge that crashed while removing the staged copies left some behind: the next merge removes them in one
      // request.
      const part = manifest.files[0]!;
      const staged = `${STAGING}shards/00000/attempt-001/${part.path}.staged`;
      await out.put(staged, await out.get(RUN + part.path));
      await out.put(`${STAGING}shards/00000/attempt-001/_claim.json`, '{}');
      const third = await merge();
      expect(third.byKind).toEqual({ get: 4, list: 2, deleteMany: 1 });
      expect((await out.list(STAGING)).map((o) => o.key).filter((k) => /\/attempt-\d+\//.test(k))).toEqual([]);
      const again = await readOutputRows(out, await readManifest(out, DATE));
      expect(
        compareToReference(
          again.table,
          table.getChild('customer_id')!.toArray() as BigInt64Array,
          await referenceScores(table),
        ),
      ).toEqual(cmp);
    },
  );
});
