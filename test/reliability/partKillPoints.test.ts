/**
 * A reclaim costs a part, not a shard: kill points at every step of a part's commit (the claim, a part's file, a
 * part's record, the shard's commit; the request lost or landed), with SIGKILL and with SIGTERM, on S3 behind a fault
 * proxy; then a retry (also for a CSV input whose quoted fields span lines, which resumes at a recorded byte). Every
 * case ends the same way: the run publishes every input row exactly once with onnxruntime's exact score, the retry
 * resumed after the parts committed before the kill (whoever wrote them), and the manifest's rows_rescored is at most
 * one part per kill (none for SIGTERM, which commits the part so far).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as arrow from 'apache-arrow';
import {
  CsvParser,
  commitKey,
  openStore,
  planKey,
  readPlan,
  shardDir,
  toShardRecord,
  type StoreFactory,
  type BatchManifest,
  type ObjectStore,
  type PartCommit,
  type ShardCommit,
} from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { mergeRun } from '@batchscore/merge';
import { scoreShard } from '@batchscore/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { customersAsQuotedCsv, jobYaml, makeCustomers, noteFor, writeCustomers } from '../support/data.js';
import { startFaultProxy, type ProxiedRequest } from '../support/faultProxy.js';
import { readJson, readManifest, readOutputRows } from '../support/output.js';
import { childPids, killQuietly, startCli, waitFor } from '../support/proc.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-12-01';
const run = { batchDate: DATE, modelVersion: 'v3' };
const ROWS = 40_000;
const PART = 10_000;

async function expectExactlyOnce(out: ObjectStore, table: arrow.Table, shards: number): Promise<BatchManifest> {
  const m = await readManifest(out, DATE);
  expect(m).toMatchObject({ status: 'complete', record_count: table.numRows, shard_count: shards });
  const { table: scored } = await readOutputRows(out, m);
  const cmp = compareToReference(
    scored,
    table.getChild('customer_id')!.toArray() as BigInt64Array,
    await referenceScores(table),
  );
  expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: table.numRows });
  return m;
}

/** What a request is, told from its key: the attempt's claim, a part's file or record, the shard's commit. */
function stepOf(r: ProxiedRequest): 'claim' | 'file' | 'record' | 'commit' | undefined {
  if (r.kind !== 'put') return undefined;
  if (r.url.includes('/_claim.json')) return 'claim';
  if (r.url.includes('.staged')) return 'file';
  if (r.url.includes('/parts/')) return 'record';
  if (r.url.includes('/_commit.json')) return 'commit';
  return undefined;
}

describe('kill points inside a shard: each step of a part commit, SIGKILL and SIGTERM, on S3', () => {
  let s3: S3Server;
  let bucket: string;
  let table: arrow.Table;
  let dir: string;
  /** The same rows as one CSV file whose quoted notes span lines, and where its records start. */
  const csvTable = makeCustomers(ROWS);
  const csvText = new TextEncoder().encode(customersAsQuotedCsv(csvTable));
  const csvRecordStarts = new Set<number>();
  new CsvParser(new TextEncoder().encode(','), 'customers.csv', csvText.length).parse(csvText, 0, 0, true, (_f, at) => {
    csvRecordStarts.add(at);
  });
  beforeAll(async () => {
    s3 = await startS3();
    bucket = await s3.bucket('bs-part-kill');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    ({ table } = await writeCustomers(store, 'in/', ROWS, 10_000, 2_500));
    await store.put('in-csv/customers.csv', csvText);
    dir = await mkdtemp(path.join(tmpdir(), 'bs-part-kill-'));
  });
  afterAll(async () => s3?.stop());

  const direct = () => ({ env: s3Env(s3.endpoint) });
  const open: StoreFactory = (uri) => openStore(uri, { s3: { client: s3.client } });
  /** The bookkeeping folder of an output in the default layout (outputLayout): keys.ts's keys are relative to it. */
  const books = (out: ObjectStore) => open(out.rootUri + '_batchscore/');

  /**
   * The retry (another pod) and the merge, in this process: only the attempt that is killed needs a process of its
   * own. Returns the retry's result.
   */
  async function retryAndMerge(out: ObjectStore, shard = 0) {
    const plan = await readPlan(books(out), planKey(run));
    const retry = await scoreShard(plan, toShardRecord(plan, plan.shards[shard]!), open);
    await mergeRun(plan, open);
    return retry;
  }

  /** A job of its own output folder: one shard of 40,000 rows, written in 4 parts of 10,000 (or of `part` rows). */
  async function job(name: string, rowsPerShard = ROWS, csv = false, part = PART) {
    const file = path.join(dir, `${name}.yaml`);
    const yaml = jobYaml({
      input: `s3://${bucket}/${csv ? 'in-csv' : 'in'}/`,
      ...(csv ? { format: 'csv', passthrough: ['customer_id', 'note'] } : {}),
      model: CREDIT_MODEL,
      output: `s3://${bucket}/${name}/`,
      rowsPerShard,
    });
    await writeFile(file, yaml.replace('  output:\n', `  output:\n    rowsPerPart: ${part}\n`));
    const p = await runCli(['plan', file, '--date', DATE], direct());
    expect(p.code, p.stderr).toBe(0);
    return { file, out: new S3Store({ bucket, prefix: `${name}/`, client: s3.client }) };
  }

  /**
   * Runs `score` through a proxy that slows every request, and sends `signal` to it when `at` picks a request: with
   * SIGKILL that request is lost, or lands first; with SIGTERM it goes on as usual. Returns how the process ended.
   */
  async function signalAt(
    args: string[],
    at: (step: string | undefined, counts: Record<string, number>) => boolean,
    signal: 'SIGKILL' | 'SIGTERM',
    lands: boolean,
  ) {
    let pid = 0;
    let hit = false;
    const counts: Record<string, number> = {};
    const proxy = await startFaultProxy(s3.endpoint, {
      // A SIGKILL lands exactly at its request; a SIGTERM needs the parts slow enough to be caught in the middle.
      delayMs: signal === 'SIGTERM' ? 20 : 0,
      onRequest: (r) => {
        if (hit && signal === 'SIGKILL') return 'reset'; // a dead client sends nothing more
        const step = stepOf(r);
        if (step) counts[step] = (counts[step] ?? 0) + 1;
        if (hit || !at(step, counts)) return;
        hit = true;
        // SIGTERM: the process goes on to commit what it holds, so the request is forwarded, but only after a hold:
        // the part after this one then waits for it (a shard commits its parts in order), so the process cannot run
        // past the next part's end before it has taken the signal, however loaded the machine is. (Without the hold
        // the signal could be taken only after the shard's last row had been read: a stop that proves nothing.)
        if (signal === 'SIGTERM') {
          killQuietly(pid, signal);
          return { delayMs: 1500 };
        } else if (lands) return { landed: () => killQuietly(pid, signal) };
        else {
          killQuietly(pid, signal);
          return 'reset';
        }
      },
    });
    try {
      const p = startCli(args, { env: s3Env(proxy.endpoint) });
      pid = p.pid;
      const r = await p.exited;
      expect(hit, r.stderr).toBe(true);
      return r;
    } finally {
      await proxy.stop();
    }
  }

  const parts = async (out: ObjectStore) => {
    const records = (await out.list('_batchscore/')).filter((o) => o.key.includes('/parts/'));
    return Promise.all(records.map((o) => readJson<PartCommit>(out, o.key)));
  };

  type Case = [
    name: string,
    at: (step: string | undefined, counts: Record<string, number>) => boolean,
    lands: boolean,
    /** Rows committed before the retry, and so not scored again by it. */
    kept: number,
  ];
  const cases: Case[] = [
    ['the claim (lost)', (s) => s === 'claim', false, 0],
    ['the claim (it lands)', (s) => s === 'claim', true, 0],
    ["the 2nd part's file (lost)", (s, c) => s === 'file' && c.file === 2, false, PART],
    ["the 2nd part's file (it lands)", (s, c) => s === 'file' && c.file === 2, true, PART],
    ["the 2nd part's record (lost)", (s, c) => s === 'record' && c.record === 2, false, PART],
    ["the 2nd part's record (it lands)", (s, c) => s === 'record' && c.record === 2, true, 2 * PART],
    ["the last part's record (it lands)", (s, c) => s === 'record' && c.record === 4, true, ROWS],
    ["the shard's commit (lost)", (s) => s === 'commit', false, ROWS],
  ];

  it.each(cases)(
    'SIGKILL at %s: the retry resumes after the parts committed; exactly once',
    async (name, at, lands, kept) => {
      const { file, out } = await job(`kill-${cases.findIndex((c) => c[0] === name)}`);
      const r = await signalAt(['score', file, '--date', DATE, '--shard', '0'], at, 'SIGKILL', lands);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const before = await parts(out);
      expect(before.reduce((n, p) => n + p.end.row - p.start.row, 0)).toBe(kept);
      await retryAndMerge(out);
      const commit = await readJson<ShardCommit>(books(out), commitKey(run, 0));
      // The parts committed before the kill are the killed attempt's and were kept; the retry scored the rest. A
      // claim that never landed left no attempt: the retry is attempt 1.
      const killed = name.startsWith('the claim') && !lands ? 0 : 1;
      expect(commit.parts!.filter((p) => p.attempt === killed).reduce((n, p) => n + p.end - p.start, 0)).toBe(kept);
      expect(commit.parts!.every((p) => p.attempt === killed || p.start >= kept)).toBe(true);
      const m = await expectExactlyOnce(out, table, 1);
      expect(m.rows_rescored).toBeLessThanOrEqual(PART);
      expect(m.shards[0]!.rows_rescored).toBe(m.rows_rescored);
      const attempts = m.shards[0]!.attempts!;
      expect(attempts.at(-1)).toMatchObject({ outcome: 'finished', rows_kept: ROWS - kept });
      // A claim that never landed leaves no attempt behind to count; one that did is counted as killed.
      if (name.startsWith('the claim') && !lands) expect(attempts.map((a) => a.outcome)).toEqual(['finished']);
      else expect(attempts[0]).toMatchObject({ attempt: 1, outcome: 'killed', rows_kept: kept });
    },
  );

  it("the shard's commit lands and the pod is killed: the retry finds the shard done and scores nothing", async () => {
    const { file, out } = await job('kill-commit-lands');
    const r = await signalAt(['score', file, '--date', DATE, '--shard', '0'], (s) => s === 'commit', 'SIGKILL', true);
    expect(r.signal).toBe('SIGKILL');
    expect(await retryAndMerge(out)).toMatchObject({ shard: 0, skipped: true });
    const m = await expectExactlyOnce(out, table, 1);
    expect(m.rows_rescored).toBe(0);
  });

  // At least two parts follow the one whose file is held (signalAt), so the stop falls inside the shard.
  const graceful: [string, (step: string | undefined, c: Record<string, number>) => boolean, part: number][] = [
    ["the 2nd part's file is sent (parts of 10,000 rows)", (s, c) => s === 'file' && c.file === 2, PART],
    ["the 3rd part's file is sent (parts of 5,000 rows)", (s, c) => s === 'file' && c.file === 3, PART / 2],
  ];
  it.each(graceful)(
    'SIGTERM as %s: exit 75 after committing the part so far; the retry goes on from its end, nothing rescored',
    async (name, at, part) => {
      const { file, out } = await job(`term-${graceful.findIndex((g) => g[0] === name)}`, ROWS, false, part);
      const r = await signalAt(['score', file, '--date', DATE, '--shard', '0'], at, 'SIGTERM', true);
      expect([r.code, r.signal], r.stderr).toEqual([75, null]);
      const before = await parts(out);
      const end = Math.max(...before.map((p) => p.end.row));
      // The part it held ends where it stopped (inside a part, or at the next part's end when the signal was taken
      // as that part waited for the held one), and nothing after it is committed.
      expect(before.reduce((n, p) => n + p.end.row - p.start.row, 0)).toBe(end);
      expect(end).toBeLessThan(ROWS);
      expect((await retryAndMerge(out)).scored).toEqual({ rows: ROWS - end, from: end });
      const m = await expectExactlyOnce(out, table, 1);
      expect(m.rows_rescored).toBe(0);
      expect(m.shards[0]!.attempts).toEqual([
        { attempt: 1, rows_scored: end, rows_kept: end, outcome: 'stopped' },
        { attempt: 2, rows_scored: ROWS - end, rows_kept: ROWS - end, outcome: 'finished' },
      ]);
    },
  );

  const csvCases: [string, 'SIGKILL' | 'SIGTERM', (step: string | undefined, c: Record<string, number>) => boolean][] =
    [
      ["SIGKILL as the 2nd part's record lands", 'SIGKILL', (s, c) => s === 'record' && c.record === 2],
      ["SIGTERM as the 2nd part's file is sent", 'SIGTERM', (s, c) => s === 'file' && c.file === 2],
    ];
  it.each(csvCases)(
    'CSV whose quoted fields span lines, %s: the parts end at record starts, the retry reads on from there; ' +
      'every row once, values exact',
    async (name, signal, at) => {
      const { file, out } = await job(`csv-${csvCases.findIndex((c) => c[0] === name)}`, ROWS, true);
      const r = await signalAt(['score', file, '--date', DATE, '--shard', '0'], at, signal, true);
      if (signal === 'SIGKILL') expect(r.signal, r.stderr).toBe('SIGKILL');
      else expect([r.code, r.signal], r.stderr).toEqual([75, null]);
      const before = await parts(out);
      const kept = before.reduce((n, p) => n + p.end.row - p.start.row, 0);
      if (signal === 'SIGKILL') expect(kept).toBe(2 * PART);
      else expect(kept).toBeGreaterThan(PART);
      // Each committed part ends at a byte where the parser begins a record: the next part's first row; or, when the
      // SIGTERM was taken only as the last part was handed over (a loaded machine), at the end of the file.
      for (const p of before)
        expect(
          p.end.byte === undefined ? p.end.row === ROWS : csvRecordStarts.has(p.end.byte),
          `part ending at row ${p.end.row}, byte ${p.end.byte}`,
        ).toBe(true);
      expect((await retryAndMerge(out)).scored).toEqual({ rows: ROWS - kept, from: kept });
      const m = await expectExactlyOnce(out, csvTable, 1);
      if (signal === 'SIGTERM') expect(m.rows_rescored).toBe(0);
      else expect(m.rows_rescored).toBeLessThanOrEqual(PART);
      const { table: scored } = await readOutputRows(out, m);
      const ids = scored.getChild('customer_id')!;
      const notes = scored.getChild('note')!;
      const wrong = Array.from({ length: scored.numRows }, (_, i) => i).filter(
        (i) => notes.get(i) !== noteFor(Number(ids.get(i))),
      );
      expect(wrong.map((i) => [ids.get(i), notes.get(i)]).slice(0, 3)).toEqual([]);
    },
  );

  it(
    'a stride (pod 0 of 1, three shards) killed in its second shard: the retried pod skips the first, resumes ' +
      'the second at its first uncommitted part, scores the third; exactly once',
    async () => {
      const { file, out } = await job('stride', 15_000);
      const r = await signalAt(
        ['score', file, '--date', DATE, '--pod', '0', '--pods', '1'],
        // Shard 0 is 2 parts; shard 1's first part record is the 3rd record: kill as it lands.
        (s, c) => s === 'record' && c.record === 3,
        'SIGKILL',
        true,
      );
      expect(r.signal).toBe('SIGKILL');
      const retry = await runCli(['score', file, '--date', DATE, '--pod', '0', '--pods', '1'], direct());
      expect(retry.code, retry.stderr).toBe(0);
      const printed = retry.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { shard: number; skipped?: boolean });
      expect(printed.map((p) => [p.shard, p.skipped ?? false])).toEqual([
        [0, true],
        [1, false],
        [2, false],
      ]);
      expect(retry.stderr).toContain('shard 1: ');
      expect(retry.stderr).toContain(`(resumed at row ${PART}, after the parts committed before)`);
      expect((await runCli(['merge', file, '--date', DATE], direct())).code).toBe(0);
      const m = await expectExactlyOnce(out, table, 3);
      expect(m.shards.map((s) => s.attempts!.map((a) => a.outcome))).toEqual([
        ['finished'],
        ['killed', 'finished'],
        ['finished'],
      ]);
      expect(m.shards[1]!.rows_rescored).toBeLessThanOrEqual(PART);
      expect(m.rows_rescored).toBe(m.shards[1]!.rows_rescored);
    },
  );
});

describe('run --local: a worker killed or the run stopped mid-shard costs at most a part', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  /** One shard of 40,000 rows in 4 parts, behind a proxy slow enough that a part is always in flight. */
  async function setUp(name: string) {
    const bucket = await s3.bucket(`bs-local-${name}`);
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    const { table } = await writeCustomers(store, 'in/', ROWS, 10_000, 2_500);
    const d = await mkdtemp(path.join(tmpdir(), 'bs-local-part-'));
    const file = path.join(d, 'job.yaml');
    const yaml = jobYaml({
      input: `s3://${bucket}/in/`,
      model: CREDIT_MODEL,
      output: `s3://${bucket}/out/`,
      rowsPerShard: ROWS,
    });
    await writeFile(file, yaml.replace('  output:\n', `  output:\n    rowsPerPart: ${PART}\n`));
    const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
    // The bookkeeping folder of the default layout (outputLayout): keys.ts's keys are relative to it.
    const books = new S3Store({ bucket, prefix: 'out/_batchscore/', client: s3.client });
    const proxy = await startFaultProxy(s3.endpoint, { delayMs: 40 });
    const committedParts = async () => (await books.list(`${shardDir(run, 0)}parts/`)).length;
    return { file, table, out, proxy, committedParts };
  }

  it('SIGKILL of the worker after its first part: the restarted worker resumes after it; exactly once', async () => {
    const { file, table, out, proxy, committedParts } = await setUp('kill');
    const p = startCli(['run', file, '--local', '--date', DATE, '--workers', '1'], { env: s3Env(proxy.endpoint) });
    try {
      await waitFor(async () => (await committedParts()) >= 1, 'the first part committed');
      const [worker] = childPids(p.pid);
      expect(killQuietly(worker!)).toBe(true);
      const r = await p.exited;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/warning: worker process \d+ was killed by SIGKILL while scoring shard 0/);
    } finally {
      killQuietly(-p.pid);
      await proxy.stop();
    }
    const m = await expectExactlyOnce(out, table, 1);
    expect(m.shards[0]!.attempts!.map((a) => a.outcome)).toEqual(['killed', 'finished']);
    expect(m.shards[0]!.attempts![0]!.rows_kept).toBeGreaterThanOrEqual(PART);
    expect(m.rows_rescored).toBeLessThanOrEqual(PART);
  });

  it('SIGTERM to run --local after the first part: exit 75, the part so far committed; nothing rescored', async () => {
    const { file, table, out, proxy, committedParts } = await setUp('term');
    const p = startCli(['run', file, '--local', '--date', DATE, '--workers', '1'], { env: s3Env(proxy.endpoint) });
    try {
      await waitFor(async () => (await committedParts()) >= 1, 'the first part committed');
      process.kill(p.pid, 'SIGTERM');
      const r = await p.exited;
      expect([r.code, r.signal], r.stderr).toEqual([75, null]);
    } finally {
      killQuietly(-p.pid);
      await proxy.stop();
    }
    const again = await runCli(['run', file, '--local', '--date', DATE], { env: s3Env(s3.endpoint) });
    expect(again.code, again.stderr).toBe(0);
    const m = await expectExactlyOnce(out, table, 1);
    expect(m.shards[0]!.attempts!.map((a) => a.outcome)).toEqual(['stopped', 'finished']);
    expect(m.rows_rescored).toBe(0);
  });
});
