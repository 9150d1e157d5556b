import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { commitKey, LocalStore, sha256Hex, type ShardCommit } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { BIN, CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readJson, readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';

const DATE = '2024-09-01';
const run = { batchDate: DATE, modelVersion: 'v3' };

async function setup(rows: number, rowsPerShard: number) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-rel-'));
  const { table } = await writeCustomers(new LocalStore(dir), 'in/', rows, 50_000, 10_000);
  const job = path.join(dir, 'job.yaml');
  await writeFile(job, jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard }));
  // The bookkeeping folder of the default layout (outputLayout) holds the commit records.
  return {
    dir,
    job,
    table,
    out: new LocalStore(path.join(dir, 'out')),
    books: new LocalStore(path.join(dir, 'out', '_batchscore')),
  };
}

describe('crash safety and concurrent runs', () => {
  it(
    'kill -9 of the whole run mid-way, then a rerun: committed shards are kept, the output ' + 'is exactly once',
    async () => {
      const { job, table, out, books } = await setup(200_000, 10_000);
      // Its own process group, so the kill takes the parent and its workers at once.
      const child = spawn(process.execPath, [BIN, 'run', job, '--local', '--date', DATE, '--workers', '1'], {
        detached: true,
        stdio: 'ignore',
      });
      const committedBefore: ShardCommit[] = [];
      for (let i = 0; i < 600; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const c = (await out.list('_batchscore/')).filter((o) => o.key.endsWith('_commit.json'));
        if (c.length >= 3) break;
      }
      process.kill(-child.pid!, 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
      for (const o of (await out.list('_batchscore/')).filter((x) => x.key.endsWith('_commit.json')))
        committedBefore.push(await readJson<ShardCommit>(out, o.key));
      expect(committedBefore.length).toBeGreaterThanOrEqual(3);
      expect(committedBefore.length).toBeLessThan(20);
      expect(await out.head(`batch_date=${DATE}/model_version=v3/_batch_manifest.json`)).toBeUndefined();

      const r = await runCli(['run', job, '--local', '--date', DATE]);
      expect(r.code, r.stderr).toBe(0);
      // The shards committed before the crash were not scored again: their commit records are untouched.
      for (const c of committedBefore)
        expect((await readJson<ShardCommit>(books, commitKey(run, c.shard))).startedAt).toBe(c.startedAt);
      const m = await readManifest(out, DATE);
      expect(m).toMatchObject({
        status: 'complete',
        record_count: 200_000,
        input_record_count: 200_000,
        shard_count: 20,
      });
      const { table: scored } = await readOutputRows(out, m);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 200_000 });
    },
  );

  it(
    'two runs of one job and date with different models at once: exactly one publishes, ' + 'the other fails clearly',
    async () => {
      const { dir, table, out } = await setup(100_000, 20_000);
      // The same model with one byte of its doc string changed: same scores, another sha256, so another run.
      const bytes = await readFile(CREDIT_MODEL);
      const i = bytes.indexOf(Buffer.from('default'));
      expect(i).toBeGreaterThan(0);
      const other = Buffer.from(bytes);
      other[i] = 'D'.charCodeAt(0);
      await writeFile(path.join(dir, 'credit-b.onnx'), other);
      const jobA = path.join(dir, 'a.yaml');
      const jobB = path.join(dir, 'b.yaml');
      await writeFile(jobA, jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: 20_000 }));
      await writeFile(
        jobB,
        jobYaml({ input: 'in/', model: path.join(dir, 'credit-b.onnx'), output: 'out/', rowsPerShard: 20_000 }),
      );
      const [a, b] = await Promise.all([
        runCli(['run', jobA, '--local', '--date', DATE]),
        runCli(['run', jobB, '--local', '--date', DATE]),
      ]);
      const codes = [a.code, b.code].sort();
      expect(codes, a.stderr + b.stderr).toEqual([0, 65]);
      const loser = a.code === 65 ? a : b;
      expect(loser.stderr).toContain('error [RUN_CONFLICT]');
      const m = await readManifest(out, DATE);
      const winnerSha = sha256Hex(a.code === 0 ? bytes : other);
      expect(m.model.sha256).toBe(winnerSha);
      const { table: scored } = await readOutputRows(out, m);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 100_000 });
    },
  );

  it(
    'two identical runs (same job, date and model) at once: the output is exactly once, ' +
      'and neither publishes a second copy',
    async () => {
      const { job, table, out } = await setup(100_000, 10_000);
      const [a, b] = await Promise.all(
        [0, 1].map(() => runCli(['run', job, '--local', '--date', DATE, '--workers', '1'])),
      );
      // Both are the same run: the one that merges second finds it complete (or finds its shards already committed).
      expect([a!.code, b!.code], a!.stderr + b!.stderr).toEqual([0, 0]);
      const m = await readManifest(out, DATE);
      expect(m).toMatchObject({ status: 'complete', record_count: 100_000, shard_count: 10 });
      const { table: scored, paths } = await readOutputRows(out, m);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 100_000 });
      // No part outside the manifest sits in the run folder, and no attempt's parts are left staged.
      const listed = new Set(m.files.map((f) => f.path));
      expect(new Set(paths)).toEqual(listed);
      const parts = (await out.list(`batch_date=${DATE}/`))
        .filter((o) => o.key.endsWith('.parquet'))
        .map((o) => o.key.replace(/^batch_date=[^/]+\/model_version=v3\//, ''));
      expect(parts.sort()).toEqual([...listed].sort());
    },
  );
});
