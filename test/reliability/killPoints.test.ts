/**
 * Kill points: kill -9 of one part of a run at a chosen moment, then (where the run cannot recover by itself) a
 * rerun. Every case checks the same thing at the end: a manifest with status complete and the exact row counts,
 * and every input row exactly once with onnxruntime's exact score. The tests only use the CLI, the output and the
 * manifest (plus, for S3, which kind of request a stage is making), not the staging layout.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as arrow from 'apache-arrow';
import { LocalStore, manifestKey, type ObjectStore } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { startFaultProxy, type ProxiedRequest } from '../support/faultProxy.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { childPids, killQuietly, startCli, waitFor } from '../support/proc.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-11-01';

/** The run for DATE is complete and holds every input row exactly once with its exact score. */
async function expectExactlyOnce(out: ObjectStore, table: arrow.Table, shards: number) {
  const m = await readManifest(out, DATE);
  expect(m).toMatchObject({
    status: 'complete',
    record_count: table.numRows,
    input_record_count: table.numRows,
    shard_count: shards,
  });
  const { table: scored } = await readOutputRows(out, m);
  const cmp = compareToReference(
    scored,
    table.getChild('customer_id')!.toArray() as BigInt64Array,
    await referenceScores(table),
  );
  expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: table.numRows });
}

/** jobYaml with a smaller spec.output.rowsPerPart, so that a shard writes several parts. */
function withRowsPerPart(yaml: string, rowsPerPart: number): string {
  return yaml.replace('  output:\n', `  output:\n    rowsPerPart: ${rowsPerPart}\n`);
}

describe('kill points in run --local', () => {
  async function setup(rows: number, rowsPerShard: number) {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-kill-'));
    const { table } = await writeCustomers(new LocalStore(dir), 'in/', rows, 50_000, 10_000);
    const job = path.join(dir, 'job.yaml');
    await writeFile(job, jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard }));
    const out = new LocalStore(path.join(dir, 'out'));
    const commits = async () => (await out.list('_batchscore/')).filter((o) => o.key.endsWith('_commit.json')).length;
    return { job, table, out, commits };
  }

  it(
    'kill -9 of one worker mid-shard: the parent starts another worker, that shard is ' +
      'scored again, the run completes exactly once',
    async () => {
      const { job, table, out, commits } = await setup(200_000, 10_000);
      const run = startCli(['run', job, '--local', '--date', DATE, '--workers', '2']);
      try {
        // Both workers are past start-up and scoring once shards commit; each holds a shard nearly all the time.
        // They are stopped (SIGSTOP) while the commits are counted, so the run cannot end between the count and the
        // kill however starved this process is (on a loaded machine the worker chosen was once gone by the kill).
        const [victim, other] = await waitFor(async () => {
          const pids = childPids(run.pid);
          if (pids.length !== 2) return false;
          const stopped = pids.map((p) => killQuietly(p, 'SIGSTOP'));
          if (stopped.every(Boolean) && (await commits()) >= 2) return pids;
          for (const p of pids) killQuietly(p, 'SIGCONT');
          return false;
        }, 'two workers and two committed shards');
        expect(killQuietly(victim!)).toBe(true);
        expect(killQuietly(other!, 'SIGCONT')).toBe(true);
        const r = await run.exited;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(
          new RegExp(
            `warning: worker process ${victim} was killed by SIGKILL while scoring shard \\d+; ` +
              `starting another \\(restart 1 of 2\\)`,
          ),
        );
        await expectExactlyOnce(out, table, 20);
      } finally {
        killQuietly(-run.pid);
      }
    },
  );

  it(
    'a worker killed again and again is restarted at most twice, then the run fails clearly ' +
      '(no manifest); a rerun completes exactly once',
    async () => {
      const { job, table, out } = await setup(40_000, 10_000);
      const run = startCli(['run', job, '--local', '--date', DATE, '--workers', '1']);
      const killed: number[] = [];
      let stop = false;
      // Kill every worker as soon as it appears, like an OOM killer that always strikes.
      const killer = (async () => {
        while (!stop) {
          for (const pid of childPids(run.pid)) if (!killed.includes(pid) && killQuietly(pid)) killed.push(pid);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      try {
        const r = await run.exited;
        stop = true;
        await killer;
        expect(r.code, r.stderr).toBe(75);
        expect(killed.length).toBe(3); // the first worker and its two replacements
        expect(r.stderr.match(/was killed by SIGKILL .*; starting another/g)).toHaveLength(2);
        expect(r.stderr).toMatch(
          new RegExp(
            String.raw`batchscore: error \[WORKER_LOST\]: worker process exited with SIGKILL while` +
              String.raw` (starting|scoring shard \d+) \(after 2 restarts\)`,
          ),
        );
        expect(await out.head(manifestKey({ batchDate: DATE, modelVersion: 'v3' }))).toBeUndefined();
      } finally {
        stop = true;
        killQuietly(-run.pid);
      }
      const again = await runCli(['run', job, '--local', '--date', DATE]);
      expect(again.code, again.stderr).toBe(0);
      await expectExactlyOnce(out, table, 4);
    },
  );
});

describe('kill points in the stage commands (plan, score, merge) on S3', () => {
  let s3: S3Server;
  let bucket: string;
  let table: arrow.Table;
  let dir: string;
  beforeAll(async () => {
    s3 = await startS3();
    bucket = await s3.bucket('bs-kill');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    ({ table } = await writeCustomers(store, 'in/', 40_000, 20_000, 5_000));
    dir = await mkdtemp(path.join(tmpdir(), 'bs-kill-s3-'));
  });
  afterAll(async () => s3?.stop());

  /**
   * A job of its own output folder: 4 shards of 10k rows; each shard reads 5,000-row groups and writes each as a part
   * (8 parts).
   */
  async function job(name: string) {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(
      file,
      withRowsPerPart(
        jobYaml({
          input: `s3://${bucket}/in/`,
          model: CREDIT_MODEL,
          output: `s3://${bucket}/${name}/`,
          rowsPerShard: 10_000,
        }),
        2_500,
      ),
    );
    return { file, out: new S3Store({ bucket, prefix: `${name}/`, client: s3.client }) };
  }

  const direct = () => ({ env: s3Env(s3.endpoint) });

  /**
   * Runs `cmd` through a proxy that calls `at` on each request; `at` returns true to kill -9 the command right there.
   */
  async function killAt(
    args: string[],
    at: (r: ProxiedRequest, kinds: Record<string, number>) => boolean | 'reset',
    delayMs = 0,
  ) {
    let pid = 0;
    let killedAt: ProxiedRequest | undefined;
    const kinds: Record<string, number> = {};
    const proxy = await startFaultProxy(s3.endpoint, {
      delayMs,
      onRequest: (r) => {
        if (killedAt) return 'reset'; // a dead client's requests still in flight (none are expected)
        kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
        const what = at(r, kinds);
        if (!what) return;
        killedAt = r;
        killQuietly(pid);
        return what === 'reset' ? 'reset' : undefined;
      },
    });
    try {
      const run = startCli(args, { env: s3Env(proxy.endpoint) });
      pid = run.pid;
      const r = await run.exited;
      return { ...r, killedAt, kinds };
    } finally {
      await proxy.stop();
    }
  }

  async function plan(file: string): Promise<string> {
    const p = await runCli(['plan', file, '--date', DATE], direct());
    expect(p.code, p.stderr).toBe(0);
    return (JSON.parse(p.stdout) as { plan: string }).plan;
  }

  async function score(planUri: string, shards: number[]) {
    const results = [];
    for (let i = 0; i < shards.length; i += 2) {
      const wave = await Promise.all(
        shards.slice(i, i + 2).map((s) => runCli(['score', '--plan', planUri, '--shard', String(s)], direct())),
      );
      for (const r of wave) expect(r.code, r.stderr).toBe(0);
      results.push(...wave.map((r) => JSON.parse(r.stdout) as { shard: number; skipped?: boolean }));
    }
    return results;
  }

  // Kill points inside plan: while reading footers, at the lease's create (it lands), at the plan's write (it does
  // not).
  const planKills: [string, (r: ProxiedRequest, k: Record<string, number>) => boolean | 'reset'][] = [
    ['reading the first footer', (r, k) => r.kind === 'get' && k.get === 1],
    ['taking the run lease (the request lands)', (r, k) => r.kind === 'put' && k.put === 1],
    ['writing the plan (the request is lost)', (r, k) => (r.kind === 'put' && k.put === 2 ? 'reset' : false)],
  ];
  it.each(planKills)('kill -9 of plan while %s, then run --local: complete, exactly once', async (name, at) => {
    const { file, out } = await job(`plan-${planKills.findIndex((p) => p[0] === name)}`);
    const r = await killAt(['plan', file, '--date', DATE], at);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(r.killedAt).toBeDefined();
    expect(await out.head(manifestKey({ batchDate: DATE, modelVersion: 'v3' }))).toBeUndefined();
    const again = await runCli(['run', file, '--local', '--date', DATE], direct());
    expect(again.code, again.stderr).toBe(0);
    await expectExactlyOnce(out, table, 4);
  });

  it(
    'kill -9 of score mid-shard after two shards committed: a rerun of every shard skips ' +
      'the committed ones and scores the rest; merge is exactly once',
    async () => {
      const { file, out } = await job('score');
      const planUri = await plan(file);
      await score(planUri, [0, 1]);
      // Shard 2 writes 4 parts, then its commit record: kill it as its second write arrives (that write lands).
      const r = await killAt(['score', '--plan', planUri, '--shard', '2'], (q, k) => q.kind === 'put' && k.put === 2);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      // Not complete yet (66): the killed shard has no commit record.
      const early = await runCli(['merge', '--plan', planUri], direct());
      expect(early.code).toBe(66);
      expect(early.stderr).toContain('error [RUN_INCOMPLETE]: 2 of 4 shards have not committed (00002, 00003)');
      const rerun = await score(planUri, [0, 1, 2, 3]);
      expect(rerun.map((x) => [x.shard, x.skipped ?? false])).toEqual([
        [0, true],
        [1, true],
        [2, false],
        [3, false],
      ]);
      const m = await runCli(['merge', file, '--date', DATE], direct());
      expect(m.code, m.stderr).toBe(0);
      await expectExactlyOnce(out, table, 4);
    },
  );

  // Kill points inside merge, which is slowed to 25 ms a request: 16 parts (4 shards × 4 of 2,500 rows) are each
  // copied to their final keys; parts an earlier run left in the run folder go in one batch delete before the
  // manifest, the staged copies in another after it.
  const mergeKills: [
    string,
    (r: ProxiedRequest, k: Record<string, number>) => boolean | 'reset',
    { stale?: boolean },
  ][] = [
    [
      'before the first part is copied (the copy is lost)',
      (r, k) => (r.kind === 'copy' && k.copy === 1 ? 'reset' : false),
      {},
    ],
    ['at the 5th copy (it lands: the part is at both keys)', (r, k) => r.kind === 'copy' && k.copy === 5, {}],
    [
      "at the batch delete of an earlier run's part, after every copy (it lands)",
      (r) => r.kind === 'deleteMany',
      { stale: true },
    ],
    [
      'at the manifest write, after every part was copied (it is lost)',
      (r) => (r.kind === 'put' ? 'reset' : false),
      {},
    ],
  ];
  const stalePart = `batch_date=${DATE}/model_version=v3/part-09999-0000.parquet`;
  it.each(mergeKills)(
    'kill -9 of merge %s: no manifest; merge again: complete, exactly once',
    async (name, at, { stale }) => {
      const { file, out } = await job(`merge-${mergeKills.findIndex((p) => p[0] === name)}`);
      const planUri = await plan(file);
      await score(planUri, [0, 1, 2, 3]);
      if (stale) await out.put(stalePart, 'an earlier run of this date and version');
      const r = await killAt(['merge', file, '--date', DATE], at, 25);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(r.killedAt).toBeDefined();
      expect(await out.head(manifestKey({ batchDate: DATE, modelVersion: 'v3' }))).toBeUndefined();
      const again = await runCli(['merge', '--plan', planUri], direct());
      expect(again.code, again.stderr).toBe(0);
      await expectExactlyOnce(out, table, 4);
      expect((await readManifest(out, DATE)).files).toHaveLength(16); // so the kill points above fall inside the merge
      expect(await out.head(stalePart)).toBeUndefined();
      // And merge stays idempotent after that.
      const third = await runCli(['merge', '--plan', planUri], direct());
      expect(third.code, third.stderr).toBe(0);
      await expectExactlyOnce(out, table, 4);
    },
  );

  it(
    'kill -9 of merge at the batch delete of the staged copies, after the manifest (it ' +
      'is lost): complete, exactly once; merge again removes what was staged',
    async () => {
      const { file, out } = await job('merge-cleanup');
      const planUri = await plan(file);
      await score(planUri, [0, 1, 2, 3]);
      const attempts = async () => (await out.list('_batchscore/')).filter((o) => /\/attempt-\d+\//.test(o.key)).length;
      const r = await killAt(['merge', file, '--date', DATE], (q) => (q.kind === 'deleteMany' ? 'reset' : false), 25);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      await expectExactlyOnce(out, table, 4);
      expect(await attempts()).toBe(16 + 4); // every staged copy and every attempt's claim
      const again = await runCli(['merge', '--plan', planUri], direct());
      expect(again.code, again.stderr).toBe(0);
      expect(await attempts()).toBe(0);
      await expectExactlyOnce(out, table, 4);
    },
  );
});
