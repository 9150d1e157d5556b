import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import { LocalStore, toParquetBytes } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers } from '../support/data.js';

/**
 * What a naive analyst does with the output folder, at every moment of a run's life: DuckDB's and polars' hive
 * globs over `{output.uri}**\/*.parquet` must return exactly the rows of the published (complete) runs, with the
 * published columns and types: never quarantined rows, staged parts of a run still scoring, or a failed run's rows.
 */

const COMPLETE = '2024-05-01';
const HALF = '2024-05-02';
const FAILED = '2024-05-03';
const ROWS = 6_000;
const REGIONS = ['EU', 'US', 'APAC'];

/** Customers with a region column; `badAges` rows get an age outside the job's validation range (quarantined). */
function customers(firstId: number, badAges: number): arrow.Table {
  const t = makeCustomers(ROWS, firstId);
  const age = Float64Array.from(t.getChild('age')!.toArray() as Float64Array);
  for (let k = 0; k < badAges; k++) age[k * 97 + 5] = 500;
  return new arrow.Table({
    customer_id: t.getChild('customer_id')!,
    region: arrow.vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => REGIONS[i % 3]!),
      new arrow.Utf8(),
    ),
    age: arrow.makeVector(age),
    income: t.getChild('income')!,
    credit: t.getChild('credit')!,
    loan: t.getChild('loan')!,
  });
}

async function duckdb(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
  }
}

/** Lays out one complete date (with quarantined rows), one half-scored date, and one date whose merge failed. */
async function layout(partitionBy: string[]): Promise<{ out: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-readers-'));
  const store = new LocalStore(dir);
  // 12 quarantined rows of 6,000 on the complete and half dates (0.2%); 62 (1.03%) on the failed one, over its 1%
  // limit.
  await store.put(`in/${COMPLETE}/a.parquet`, toParquetBytes(customers(0, 12), undefined, 1_000));
  await store.put(`in/${HALF}/a.parquet`, toParquetBytes(customers(100_000, 12), undefined, 1_000));
  await store.put(`in/${FAILED}/a.parquet`, toParquetBytes(customers(200_000, 62), undefined, 1_000));
  const job = path.join(dir, 'job.yaml');
  await writeFile(
    job,
    jobYaml({
      input: 'in/{date}/',
      model: CREDIT_MODEL,
      output: 'out/',
      rowsPerShard: 2_000,
      passthrough: ['customer_id', 'region'],
      partitionBy,
      extra: '  validation: {ranges: {age: {min: 18, max: 120}}, maxInvalidFraction: 0.01}\n',
    }),
  );
  const done = await runCli(['run', job, '--local', '--workers', '1', '--date', COMPLETE]);
  expect(done.code, done.stderr).toBe(0);
  // Half-scored: planned, two of three shards scored and committed, no merge (a run in progress, or one that died).
  expect((await runCli(['plan', job, '--date', HALF])).code).toBe(0);
  for (const shard of ['0', '1']) expect((await runCli(['score', job, '--date', HALF, '--shard', shard])).code).toBe(0);
  const failed = await runCli(['run', job, '--local', '--workers', '1', '--date', FAILED]);
  expect(failed.code, failed.stderr).toBe(65);
  expect(failed.stderr).toContain('62 of 6000 input rows (1.03%) are invalid (age: above_max 62)');
  return { out: path.join(dir, 'out') + '/' };
}

async function checkReaders(out: string, partitionBy: string[]) {
  const glob = `${out}**/*.parquet`;
  const rows = await duckdb(
    `SELECT count(*)::INTEGER AS n, count(DISTINCT customer_id)::INTEGER AS ids,
            min(customer_id)::INTEGER AS lo, max(customer_id)::INTEGER AS hi,
            count(default_probability)::INTEGER AS scored,
            min(batch_date)::VARCHAR AS d0, max(batch_date)::VARCHAR AS d1
       FROM read_parquet('${glob}', hive_partitioning = true)`,
  );
  // Exactly the complete date's 6,000 - 12 scored rows.
  expect(rows).toEqual([
    { n: ROWS - 12, ids: ROWS - 12, lo: 0, hi: ROWS - 1, scored: ROWS - 12, d0: COMPLETE, d1: COMPLETE },
  ]);
  const columns = await duckdb(`DESCRIBE SELECT * FROM read_parquet('${glob}', hive_partitioning = true)`);
  const expected = [
    ['customer_id', 'BIGINT'],
    ...(partitionBy.includes('region') ? [] : [['region', 'VARCHAR']]),
    ['default_probability', 'FLOAT'],
    ['batch_date', 'DATE'],
    ['model_version', 'VARCHAR'],
    ...(partitionBy.includes('region') ? [['region', 'VARCHAR']] : []),
  ];
  expect(columns.map((c) => [c.column_name, c.column_type])).toEqual(expected);
  if (partitionBy.includes('region')) {
    const byRegion = await duckdb(
      `SELECT region, count(*)::INTEGER AS n FROM read_parquet('${glob}', hive_partitioning ` +
        `= true) GROUP BY region ORDER BY region`,
    );
    expect(byRegion).toEqual([
      { region: 'APAC', n: 1_996 },
      { region: 'EU', n: 1_996 },
      { region: 'US', n: 1_996 },
    ]);
  }

  const df = pl.scanParquet(glob, { hivePartitioning: true }).collectSync();
  expect(df.height).toBe(ROWS - 12);
  expect(df.getColumn('customer_id').nUnique()).toBe(ROWS - 12);
  expect(df.getColumn('default_probability').nullCount()).toBe(0);
  expect(Object.fromEntries(Object.entries(df.schema).map(([k, t]) => [k, String(t)]))).toEqual({
    customer_id: 'DataType(Int64)',
    ...(partitionBy.includes('region') ? {} : { region: 'DataType(String)' }),
    default_probability: 'DataType(Float32)',
    batch_date: 'DataType(Date)',
    model_version: 'DataType(String)',
    ...(partitionBy.includes('region') ? { region: 'DataType(String)' } : {}),
  });
  expect(
    df
      .getColumn('batch_date')
      .unique()
      .toArray()
      .map((d) => (d as Date).toISOString().slice(0, 10)),
  ).toEqual([COMPLETE]);

  // The quarantine is a table of its own for whoever looks for bad rows: the complete date's 12 and the failed one's
  // 62.
  const bad = await duckdb(
    `SELECT batch_date::VARCHAR AS d, count(*)::INTEGER AS n, min(reason) AS reason FROM ` +
      `read_parquet('${out}_quarantine/**/*.parq', hive_partitioning = true) GROUP BY d ` +
      `ORDER BY d`,
  );
  expect(bad).toEqual([
    { d: COMPLETE, n: 12, reason: 'age 500 is above max 120' },
    { d: FAILED, n: 62, reason: 'age 500 is above max 120' },
  ]);
}

describe('downstream readers see exactly the published runs', () => {
  it('plain layout: DuckDB and polars hive globs skip quarantine, staged parts and failed runs', async () => {
    const { out } = await layout([]);
    await checkReaders(out, []);
  });

  it('partitionBy layout: no Hive partition mismatch, rows per region exact', async () => {
    const { out } = await layout(['region']);
    await checkReaders(out, ['region']);
  });
});
