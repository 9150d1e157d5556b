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

describe('per-attempt staging, per-part commits', () => {
  it(
    'two attempts of one shard at once (a retry racing a pod thought lost): of each part one ' +
      "attempt's copy counts, the other's is discarded; one copy of every row",
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

      // Neither finds a part committed when it starts, so both score the shard, each into its own attempt folder; of
      // each part's rows one attempt's copy is committed, and the other's is removed.
      const [a, b] = await Promise.all([0, 1].map(() => runCli(['score', '--plan', planUri, '--shard', '0'])));
      expect([a!.code, b!.code], a!.stderr + b!.stderr).toEqual([0, 0]);
      const out = new LocalStore(path.join(dir, 'out'));
      // The bookkeeping folder of the default layout (outputLayout).
      const books = new LocalStore(path.join(dir, 'out', '_batchscore'));
      const staged = await books.list(stagingDir(run) + 'shards/00000/');
      const claims = staged
        .filter((o) => o.key.endsWith('_claim.json'))
        .map((o) => o.key.replace(/.*shards\/00000\//, ''));
      expect(claims.sort()).toEqual(['attempt-001/_claim.json', 'attempt-002/_claim.json']);
      const commit = await readJson<ShardCommit>(books, commitKey(run, 0));
      // Four parts of 10,000 rows, one after another, each from one attempt, and its file from that attempt.
      expect(commit.parts!.map((p) => [p.start, p.end])).toEqual([
        [0, 10_000],
        [10_000, 20_000],
        [20_000, 30_000],
        [30_000, 40_000],
      ]);
      expect(commit.files).toHaveLength(4);
      commit.files.forEach((f, i) => expect(f.key).toContain(`/attempt-00${commit.parts![i]!.attempt}/`));
      // Nothing else is left staged: the copies that were not committed were removed by the attempt that wrote them.
      expect(staged.filter((o) => o.key.endsWith('.parquet.staged')).map((o) => o.key)).toEqual(
        commit.files.map((f) => f.key),
      );
      // The attempt that was outrun says so, unless it found the shard done before it scored a part.
      const said = /shard 0: attempt (\d) committed rows \d+-\d+ first; attempt (\d)'s part was discarded/.exec(
        a!.stderr + b!.stderr,
      );
      const skipped = [a!, b!].some((r) => (JSON.parse(r.stdout) as { skipped?: boolean }).skipped);
      expect(said !== null || skipped, a!.stderr + b!.stderr).toBe(true);

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
      // What the attempts staged is cleaned up after the manifest.
      expect((await books.list(stagingDir(run))).filter((o) => o.key.endsWith('.parquet'))).toEqual([]);
    },
  );
});
