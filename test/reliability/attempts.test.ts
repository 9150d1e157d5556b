import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { commitKey, LocalStore, stagingDir, type ShardCommit } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readJson, readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';

const DATE = '2024-09-02';
const run = { batchDate: DATE, modelVersion: 'v3' };

describe('per-attempt staging', () => {
  it(
    'two attempts of one shard at once (a retry racing a pod thought lost): one commit ' +
      'counts, the other is discarded',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-att-'));
      const { table } = await writeCustomers(new LocalStore(dir), 'in/', 80_000, 40_000, 10_000);
      const job = path.join(dir, 'job.yaml');
      await writeFile(
        job,
        jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: 40_000, extra: '' }).replace(
          'partitionBy: []',
          'partitionBy: []\n    rowsPerPart: 10000',
        ),
      );
      const plan = await runCli(['plan', job, '--date', DATE]);
      expect(plan.code, plan.stderr).toBe(0);
      const planUri = (JSON.parse(plan.stdout) as { plan: string }).plan;

      // Neither finds a commit when it starts, so both score the shard, each into its own attempt folder.
      const [a, b] = await Promise.all([0, 1].map(() => runCli(['score', '--plan', planUri, '--shard', '0'])));
      expect([a!.code, b!.code], a!.stderr + b!.stderr).toEqual([0, 0]);
      const out = new LocalStore(path.join(dir, 'out'));
      const staged = await out.list(stagingDir(run) + 'shards/00000/');
      const claims = staged
        .filter((o) => o.key.endsWith('_claim.json'))
        .map((o) => o.key.replace(/.*shards\/00000\//, ''));
      expect(claims.sort()).toEqual(['attempt-001/_claim.json', 'attempt-002/_claim.json']);
      const commit = await readJson<ShardCommit>(out, commitKey(run, 0));
      // The attempt that lost says so and leaves its parts out.
      expect(a!.stderr + b!.stderr).toContain(
        `shard 0: attempt ${commit.attempt} committed first; attempt ${3 - commit.attempt}'s parts were discarded`,
      );
      expect(
        staged.filter((o) => o.key.endsWith('.parquet') && !o.key.includes(`/attempt-00${commit.attempt}/`)),
      ).toEqual([]);
      // The committed attempt's 4 parts are there; the other attempt's parts are not mixed in.
      expect(commit.files).toHaveLength(4);
      for (const f of commit.files) expect(f.key).toContain(`/attempt-00${commit.attempt}/`);

      const s1 = await runCli(['score', '--plan', planUri, '--shard', '1']);
      expect(s1.code, s1.stderr).toBe(0);
      const merged = await runCli(['merge', '--plan', planUri]);
      expect(merged.code, merged.stderr).toBe(0);
      const m = await readManifest(out, DATE);
      expect(m).toMatchObject({ status: 'complete', record_count: 80_000, input_record_count: 80_000 });
      expect(m.files).toHaveLength(8);
      const { table: scored } = await readOutputRows(out, m);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 80_000 });
      // Parts of the attempt that did not count are cleaned up after the manifest.
      expect((await out.list(stagingDir(run))).filter((o) => o.key.endsWith('.parquet'))).toEqual([]);
    },
  );
});
