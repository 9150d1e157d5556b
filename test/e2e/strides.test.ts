import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as arrow from 'apache-arrow';
import { LocalStore } from '@batchscore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';

const DATE = '2024-09-01';
const SHARDS = 6;
const ROWS_PER_SHARD = 1_000;

/**
 * `score --pod I --pods P`, what each of the Workflow's score pods runs: shards I, I+P, … in turn, skipping those
 * already committed for the plan, going on past a failed shard, and exiting with the worst code at the end.
 */
describe('score --pod I --pods P: a stride of shards', () => {
  let dir: string;
  let job: string;
  let out: LocalStore;
  let table: arrow.Table;
  const commit = (shard: number) => `_batchscore/${DATE}/v3/shards/${String(shard).padStart(5, '0')}/_commit.json`;
  const committed = async () => {
    const done: number[] = [];
    for (let s = 0; s < SHARDS; s++) if (await out.head(commit(s))) done.push(s);
    return done;
  };
  const stdoutShards = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { shard: number; skipped?: boolean; rowsIn: number });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-strides-'));
    // One file per shard, so that a bad file is one bad shard.
    table = (await writeCustomers(new LocalStore(dir), 'in/', SHARDS * ROWS_PER_SHARD, ROWS_PER_SHARD, 500)).table;
    job = path.join(dir, 'job.yaml');
    await writeFile(job, jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: ROWS_PER_SHARD }));
    out = new LocalStore(path.join(dir, 'out'));
  });

  it('plan writes the pod count: min(shards, --max-pods)', async () => {
    const shardsFile = path.join(dir, 'shards');
    const podsFile = path.join(dir, 'pods');
    const r = await runCli([
      'plan',
      job,
      '--date',
      DATE,
      '--shard-count-file',
      shardsFile,
      '--pod-count-file',
      podsFile,
      '--max-pods',
      '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(shardsFile, 'utf8')).toBe(String(SHARDS));
    expect(await readFile(podsFile, 'utf8')).toBe('2');
    // Without a cap, one pod per shard; a cap above the shard count changes nothing.
    for (const [cap, pods] of [
      [[], SHARDS],
      [['--max-pods', '32'], SHARDS],
    ] as const) {
      const again = await runCli(['plan', job, '--date', DATE, '--pod-count-file', podsFile, ...cap]);
      expect(again.code, again.stderr).toBe(0);
      expect(await readFile(podsFile, 'utf8')).toBe(String(pods));
    }
    const usage = await runCli(['plan', job, '--date', DATE, '--max-pods', '2']);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain('--max-pods caps the pod count that --pod-count-file writes');
  });

  it('refuses --shard with --pod/--pods, and a pod outside 0-(P-1), before reading anything (exit 64)', async () => {
    for (const [args, msg] of [
      [['--shard', '1', '--pod', '0', '--pods', '2'], '--shard scores one shard and --pod/--pods a stride of them'],
      [['--pod', '2', '--pods', '2'], '--pod 2: expected less than --pods (2)'],
      [['--pod', '0'], '--pod 0 needs --pods P'],
      [[], '--shard I, or --pod I with --pods P, is required'],
    ] as const) {
      const r = await runCli(['score', '--plan', 's3://nowhere/plan.json', ...args]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(msg);
    }
  });

  it(
    'scores exactly its shards, skips committed ones, goes on past a bad shard and exits ' +
      '65 at the end; a retry rescores only that one',
    async () => {
      // Shard 2 committed earlier (an earlier attempt of the pod, or --shard by hand).
      const pre = await runCli(['score', job, '--date', DATE, '--shard', '2']);
      expect(pre.code, pre.stderr).toBe(0);
      const before = JSON.parse(new TextDecoder().decode(await out.get(commit(2))));
      // Shard 4's file turns unreadable after planning: a permanent failure (INPUT_INVALID). Its modification time
      // is kept, so the worker takes it for the planned file and the Parquet decoder fails on it (a file that changed
      // visibly fails as INPUT_CHANGED: inputChanged.test.ts).
      const bad = path.join(dir, 'in/part-004.parquet');
      const good = await readFile(bad);
      const planned = (await stat(bad, { bigint: true })).mtimeNs;
      const keepMtime = () =>
        execFileSync('touch', [
          '-m',
          '-d',
          `@${planned / 1_000_000_000n}.${String(planned % 1_000_000_000n).padStart(9, '0')}`,
          bad,
        ]);
      await writeFile(bad, new Uint8Array(good.length).fill(7));
      keepMtime();

      const r = await runCli(['score', job, '--date', DATE, '--pod', '0', '--pods', '2']);
      expect(r.code, r.stderr).toBe(65);
      // In order: 0 scored, 2 skipped (already committed), 4 failed; nothing of pod 1's stride.
      expect(stdoutShards(r.stdout).map((l) => [l.shard, l.skipped ?? false, l.rowsIn])).toEqual([
        [0, false, ROWS_PER_SHARD],
        [2, true, ROWS_PER_SHARD],
      ]);
      expect(await committed()).toEqual([0, 2]);
      expect(JSON.parse(new TextDecoder().decode(await out.get(commit(2))))).toEqual(before);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('batchscore: error'));
      expect(errors, r.stderr).toHaveLength(2);
      expect(errors[0]).toMatch(
        new RegExp(
          String.raw`^batchscore: error \[INPUT_INVALID\]: shard 4 failed, going on with the res` +
            String.raw`t of pod 0 of 2's shards: .*part-004\.parquet.*not a readable Parquet file`,
        ),
      );
      expect(errors[1]).toMatch(
        new RegExp(
          String.raw`^batchscore: error \[INPUT_INVALID\]: pod 0 of 2: 1 of 3 shards failed \(4\)` +
            String.raw`, the other 2 committed; shard 4: .*part-004\.parquet`,
        ),
      );

      // The other pod is not affected.
      const other = await runCli(['score', job, '--date', DATE, '--pod', '1', '--pods', '2']);
      expect(other.code, other.stderr).toBe(0);
      expect(stdoutShards(other.stdout).map((l) => [l.shard, l.skipped ?? false])).toEqual([
        [1, false],
        [3, false],
        [5, false],
      ]);

      // The input fixed, the pod again (as Argo's retry would run it): 0 and 2 skipped, only 4 scored.
      await writeFile(bad, good);
      keepMtime();
      const retry = await runCli(['score', job, '--date', DATE, '--pod', '0', '--pods', '2']);
      expect(retry.code, retry.stderr).toBe(0);
      expect(stdoutShards(retry.stdout).map((l) => [l.shard, l.skipped ?? false])).toEqual([
        [0, true],
        [2, true],
        [4, false],
      ]);
      expect(await committed()).toEqual([0, 1, 2, 3, 4, 5]);

      const merged = await runCli(['merge', job, '--date', DATE]);
      expect(merged.code, merged.stderr).toBe(0);
      const m = await readManifest(out, DATE);
      expect(m).toMatchObject({ status: 'complete', record_count: SHARDS * ROWS_PER_SHARD, shard_count: SHARDS });
      const { table: scored } = await readOutputRows(out, m);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: SHARDS * ROWS_PER_SHARD });
    },
  );
});
