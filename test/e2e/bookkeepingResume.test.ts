/**
 * spec.output.bookkeepingUri with per-part commits: a shard stopped mid-way commits its parts in the bookkeeping
 * folder (never in the output), the retry resumes after them, merge publishes every row once with the manifest in the
 * bookkeeping folder, and a pod retried after the merge finds the shard done there (its staged parts gone). The
 * output folder holds data files alone at every step.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPlan, writePlan } from '@batchscore/coordinator';
import {
  LocalStore,
  manifestKey,
  parseJobSpec,
  partRecordsDir,
  runKeyOf,
  shardDir,
  toShardRecord,
  type StoreFactory,
} from '@batchscore/core';
import { mergeRun } from '@batchscore/merge';
import { scoreShard } from '@batchscore/worker';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';

const DATE = '2024-12-01';
const ROWS = 4_000;
const PART = 1_000;

describe('bookkeepingUri beside the output, with a shard stopped and resumed', () => {
  it('parts and records go to the bookkeeping folder, the retry resumes after them, rows published once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-books-resume-'));
    await writeCustomers(new LocalStore(dir), 'in/', ROWS, ROWS, 500);
    const yaml = jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: ROWS }).replace(
      '  output:\n',
      `  output:\n    rowsPerPart: ${PART}\n    bookkeepingUri: "state/"\n    quarantineUri: "bad/"\n`,
    );
    const job = parseJobSpec(yaml, { baseDir: dir });
    const open: StoreFactory = (uri) => new LocalStore(new URL(uri).pathname);
    const out = new LocalStore(path.join(dir, 'out'));
    const books = new LocalStore(path.join(dir, 'state'));
    const plan = await createPlan(job, DATE, open);
    await writePlan(books, plan);
    const run = runKeyOf(plan);
    const record = toShardRecord(plan, plan.shards[0]!);

    // Stopped (SIGTERM's signal) once 1,500 rows are read: the part it holds is committed where it stopped.
    const stop = new AbortController();
    await expect(
      scoreShard(plan, record, open, { signal: stop.signal, onProgress: (rows) => rows >= 1_500 && stop.abort() }),
    ).rejects.toMatchObject({ code: 'STOPPED' });
    const records = await books.list(partRecordsDir(run, 0, plan.planId));
    expect(records.length).toBeGreaterThan(0);
    expect(await out.list('')).toEqual([]);

    const retry = await scoreShard(plan, record, open);
    expect(retry.scored!.from).toBeGreaterThanOrEqual(PART);
    expect(retry.scored!.from + retry.scored!.rows).toBe(ROWS);

    const merged = await mergeRun(plan, open);
    expect(merged.manifestUri).toBe(books.uriOf(manifestKey(run)));
    const m = await readManifest(books, DATE);
    expect(m.record_count).toBe(ROWS);
    expect(m.shards[0]!.attempts!.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'stopped'],
      [2, 'finished'],
    ]);
    const ids = Array.from((await readOutputRows(out, m)).table.getChild('customer_id')!.toArray(), Number);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    // The output holds the published data files and nothing else.
    expect((await out.list('')).map((o) => o.key).sort()).toEqual(
      m.files.map((f) => `batch_date=${DATE}/model_version=v3/${f.path}`).sort(),
    );
    // Staged parts and part records are gone; the shard's commit stays in the bookkeeping folder.
    expect((await books.list(shardDir(run, 0))).map((o) => o.key)).toEqual([`${shardDir(run, 0)}_commit.json`]);

    // A pod retried after the merge: the shard is done (its parts published under this run's manifest, found in
    // the bookkeeping folder), nothing is scored again.
    const late = await scoreShard(plan, record, open);
    expect(late.skipped).toBe(true);
  });
});
