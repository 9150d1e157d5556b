import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import { LocalStore, toParquetBytes } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers } from '../support/data.js';
import { readManifest } from '../support/output.js';

/**
 * Which ways of reading the output folder work, with each layout, after a run that published, a run that failed
 * and a run still scoring: the table docs/output.md shows. By default the bookkeeping and manifests sit inside the
 * output, so only forms that pick `.parquet` files read it; with spec.output.bookkeepingUri (and quarantineUri)
 * outside it, the output holds data files alone and every form reads exactly the published rows.
 */

const ROWS = 3_000;
const BAD = 12; // rows per date with an age past the job's range: quarantined
const [PUBLISHED, FAILED, SCORING] = ['2024-11-01', '2024-11-02', '2024-11-03'];

async function duckdb(sql: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS()[0]!.n as number;
  } finally {
    c.closeSync();
  }
}

/** A run's output, read one way: the published rows it finds, or the reader's error. */
type Form = [name: string, read: (out: string) => Promise<number>];
const FORMS: Form[] = [
  [
    "DuckDB read_parquet('out/**/*.parquet', hive_partitioning)",
    (o) => duckdb(`SELECT count(*)::INT n FROM read_parquet('${o}**/*.parquet', hive_partitioning = true)`),
  ],
  [
    "DuckDB read_parquet('out/*/*/*.parquet', hive_partitioning)",
    (o) => duckdb(`SELECT count(*)::INT n FROM read_parquet('${o}*/*/*.parquet', hive_partitioning = true)`),
  ],
  ["DuckDB read_parquet('out/')", (o) => duckdb(`SELECT count(*)::INT n FROM read_parquet('${o}')`)],
  [
    "DuckDB read_parquet('out/**', hive_partitioning)",
    (o) => duckdb(`SELECT count(*)::INT n FROM read_parquet('${o}**', hive_partitioning = true)`),
  ],
  [
    "DuckDB read_parquet('out/batch_date=D/model_version=V/*')",
    (o) => duckdb(`SELECT count(*)::INT n FROM read_parquet('${o}batch_date=${PUBLISHED}/model_version=v3/*')`),
  ],
  [
    "polars scan_parquet('out/**/*.parquet', hive_partitioning)",
    async (o) => pl.scanParquet(`${o}**/*.parquet`, { hivePartitioning: true }).collectSync().height,
  ],
  ["polars scan_parquet('out/')", async (o) => pl.scanParquet(o).collectSync().height],
  [
    "polars scan_parquet('out/batch_date=D/model_version=V/')",
    async (o) => pl.scanParquet(`${o}batch_date=${PUBLISHED}/model_version=v3/`).collectSync().height,
  ],
];

async function layout(extra: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-forms-'));
  const store = new LocalStore(dir);
  for (const [date, first, bad] of [
    [PUBLISHED, 0, BAD],
    [FAILED, 100_000, ROWS / 2], // over the job's invalid-row limit: its merge fails, nothing is published
    [SCORING, 200_000, BAD],
  ] as const) {
    const t = makeCustomers(ROWS, first);
    const age = t.getChild('age')!.toArray() as Float64Array;
    for (let k = 0; k < bad; k++) age[k * 2] = 500;
    await store.put(`in/${date}/a.parquet`, toParquetBytes(t, undefined, 1_000));
  }
  const job = path.join(dir, 'job.yaml');
  await writeFile(
    job,
    jobYaml({
      input: 'in/{date}/',
      model: CREDIT_MODEL,
      output: 'out/',
      rowsPerShard: 1_000,
      extra: '  validation: {ranges: {age: {max: 120}}, maxInvalidFraction: 0.1}\n',
    }).replace('  output:\n', `  output:\n${extra}`),
  );
  expect((await runCli(['run', job, '--local', '--date', PUBLISHED], { cwd: dir })).code).toBe(0);
  expect((await runCli(['run', job, '--local', '--date', FAILED], { cwd: dir })).code).toBe(65);
  expect((await runCli(['plan', job, '--date', SCORING], { cwd: dir })).code).toBe(0);
  expect((await runCli(['score', job, '--date', SCORING, '--shard', '0'], { cwd: dir })).code).toBe(0);
  return { dir, out: path.join(dir, 'out') + '/' };
}

async function results(out: string): Promise<Record<string, number | 'fails'>> {
  const r: Record<string, number | 'fails'> = {};
  for (const [name, read] of FORMS) r[name] = await read(out).catch(() => 'fails' as const);
  return r;
}

describe('reading the output folder', () => {
  it('default layout: the forms that pick .parquet files read the published rows; the others fail', async () => {
    const { out } = await layout('');
    const n = ROWS - BAD;
    expect(await results(out)).toEqual({
      "DuckDB read_parquet('out/**/*.parquet', hive_partitioning)": n,
      "DuckDB read_parquet('out/*/*/*.parquet', hive_partitioning)": n,
      "DuckDB read_parquet('out/')": n,
      // Bookkeeping (_batchscore/…/plan.json) and the manifest are no Parquet files.
      "DuckDB read_parquet('out/**', hive_partitioning)": 'fails',
      "DuckDB read_parquet('out/batch_date=D/model_version=V/*')": 'fails',
      "polars scan_parquet('out/**/*.parquet', hive_partitioning)": n,
      "polars scan_parquet('out/')": 'fails',
      "polars scan_parquet('out/batch_date=D/model_version=V/')": 'fails',
    });
  });

  it('bookkeepingUri (and quarantineUri) beside the output: every form reads exactly the published rows', async () => {
    const { dir, out } = await layout('    bookkeepingUri: "state/"\n    quarantineUri: "quarantine/"\n');
    const n = ROWS - BAD;
    const all = await results(out);
    expect(all).toEqual(Object.fromEntries(FORMS.map(([name]) => [name, n])));
    // Nothing but published data in the output, for all three runs' lives; the records are in state/.
    const files = (await new LocalStore(path.join(dir, 'out')).list('')).map((o) => o.key);
    expect(files.every((k) => k.startsWith(`batch_date=${PUBLISHED}/model_version=v3/part-`))).toBe(true);
    const state = new LocalStore(path.join(dir, 'state'));
    const m = await readManifest(state, PUBLISHED);
    expect(m.record_count).toBe(n);
    expect(m.bookkeeping).toEqual({
      uri: `file://${dir}/state/${PUBLISHED}/v3/`,
      plan: `file://${dir}/state/${PUBLISHED}/v3/plan.json`,
    });
    // The failed run's record (the workflow's exit handler writes it) goes there too.
    const failed = await runCli(['record-failure', path.join(dir, 'job.yaml'), '--date', FAILED]);
    expect(failed.code, failed.stderr).toBe(0);
    expect(await state.head(`batch_date=${FAILED}/model_version=v3/_batch_failure.json`)).toBeDefined();
    expect((await results(out))["DuckDB read_parquet('out/**', hive_partitioning)"]).toBe(n);
    // The job file finds the run's manifest wherever the layout puts it.
    const inspect = await runCli(['inspect', path.join(dir, 'job.yaml'), '--date', PUBLISHED]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain(
      `file://${dir}/state/batch_date=${PUBLISHED}/model_version=v3/_batch_manifest.json`,
    );
  });
});
