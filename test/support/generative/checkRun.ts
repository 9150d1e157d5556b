import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import { parquetWasm } from '@batchscore/core';
import { expect } from 'vitest';
import { expectedRows, type Problem } from './expectedRows.js';
import { DATE, type CaseRun } from './runCase.js';
import { modelInputs, type TestCase } from './testCase.js';
import { vectorOf } from './writeInput.js';

const RUN = `batch_date=${DATE}/model_version=v1/`;
const STRING_TYPES = new Set(['utf8', 'large_utf8', 'dict-utf8']);

/**
 * Whether the case must fail (exit 65, naming the column): a column of strings bound to a numeric model input, or a
 * hive folder's column bound to any input (the planner takes no feature from folder names).
 */
export function refusedColumn(c: TestCase): string | undefined {
  for (const inp of modelInputs(c)) {
    const bad = inp.columns.find(
      (n) =>
        n === c.hive?.name ||
        (inp.dtype !== 'string' && STRING_TYPES.has(c.columns.find((x) => x.name === n)?.type ?? '')),
    );
    if (bad !== undefined) return bad;
  }
  return undefined;
}

async function rowsOf(duck: DuckDBConnection, file: string): Promise<Record<string, unknown>[]> {
  const r = await duck.runAndReadAll(
    `SELECT * FROM read_parquet('${file.replaceAll("'", "''")}', hive_partitioning = false)`,
  );
  return r.getRowObjectsJS() as Record<string, unknown>[];
}

async function columnsOf(duck: DuckDBConnection, file: string): Promise<{ name: string; type: string }[]> {
  const r = await duck.runAndReadAll(
    `DESCRIBE SELECT * FROM read_parquet('${file.replaceAll("'", "''")}', hive_partitioning = false)`,
  );
  return (r.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((x) => ({
    name: x.column_name,
    type: x.column_type,
  }));
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const show = (v: unknown) =>
  JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : Object.is(x, -0) ? '-0' : x));

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if ((typeof a === 'bigint' || typeof b === 'bigint') && typeof a !== 'boolean' && typeof b !== 'boolean') {
    try {
      return BigInt(a as number) === BigInt(b as number);
    } catch {
      return false;
    }
  }
  return Object.is(a, b);
}

/** A reason as findInvalidRows words each problem of a column. */
function problemPattern(col: string, p: Problem): RegExp {
  const c = col.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const how: Record<Problem, string> = {
    null: 'is (null|empty)',
    missing: 'is missing',
    nan: 'is NaN',
    infinite: 'is -?Infinity',
    not_a_number: '[^]+ is not a number',
    unrepresentable: '[^ ]+ is not representable as \\w+( \\(model input "[^"]*"\\))?',
  };
  return new RegExp(`(^|; )${c} ${how[p]}(;|$)`);
}

/**
 * Checks a run of a case against what its cells must give: every row once, published with each output as numpy
 * casts its value (or spelled as pyarrow spells it), or quarantined with a reason for each bad column; passthrough
 * columns with their input's type and value (Parquet: as DuckDB reads the input file; CSV/JSONL: the text);
 * partition folders spelling each value. The output is read by DuckDB, not by batchscore's reader.
 */
export async function checkRun(c: TestCase, run: CaseRun, duck: DuckDBConnection): Promise<void> {
  const refused = refusedColumn(c);
  if (refused !== undefined) {
    expect(run.error, 'a string column bound to a numeric input is refused').toBeDefined();
    expect((run.error as { code?: string }).code).toBe('INPUT_INVALID');
    expect(String((run.error as Error).message)).toContain(refused);
    return;
  }
  if (run.error) throw run.error;
  const m = run.manifest!;
  const rows = expectedRows(c);
  const good = rows.filter((r) => r.problems.size === 0);
  const bad = rows.filter((r) => r.problems.size > 0);
  expect(
    [m.input_record_count, m.record_count, m.quarantined_record_count],
    'rows read, published, quarantined',
  ).toEqual([rows.length, good.length, bad.length]);

  // Published rows, file by file, with the partition values their folders spell.
  const out = path.join(run.dir, 'out', RUN);
  const seen = new Set<number>();
  for (const f of m.files) {
    const file = path.join(out, f.path);
    const folders: Record<string, string | null> = {};
    for (const seg of f.path.split('/').slice(0, -1)) {
      const at = seg.indexOf('=');
      const value = seg.slice(at + 1);
      folders[decodeURIComponent(seg.slice(0, at))] =
        value === '__HIVE_DEFAULT_PARTITION__' ? null : decodeURIComponent(value);
    }
    expect(Object.keys(folders), `${f.path}: partition folders`).toEqual(c.partitionBy);
    for (const got of await rowsOf(duck, file)) {
      const id = Number(got.id);
      expect(seen.has(id), `row ${id} published twice`).toBe(false);
      seen.add(id);
      const want = rows[id]!;
      expect(want.problems.size, `row ${id} published, but should be quarantined: ${show([...want.problems])}`).toBe(0);
      for (const [col, v] of Object.entries(want.outputs))
        expect(same(got[col], v), `row ${id} ${col}: got ${show(got[col])}, want ${show(v)}`).toBe(true);
      for (const [col, v] of Object.entries(want.texts))
        expect(got[col], `row ${id}: passthrough ${show(col)} (text)`).toBe(v);
      expect(folders, `row ${id}: partition folders of ${f.path}`).toEqual(want.folders);
    }
  }
  expect(seen.size, 'published rows').toBe(good.length);

  // Quarantined rows: each once, with a reason naming each bad column.
  const qdir = path.join(run.dir, 'out', '_quarantine', RUN);
  const quarantined = new Set<number>();
  for (const f of m.quarantine!.files) {
    const file = path.join(qdir, f.path);
    const cols = await columnsOf(duck, file);
    const reasonCol = cols[cols.length - 1]!.name;
    for (const got of await rowsOf(duck, file)) {
      const id = Number(got.id);
      expect(quarantined.has(id), `row ${id} quarantined twice`).toBe(false);
      quarantined.add(id);
      const want = rows[id]!;
      const reason = String(got[reasonCol]);
      expect(want.problems.size, `row ${id} quarantined (${reason}), but should be published`).toBeGreaterThan(0);
      for (const [col, p] of want.problems) expect(reason, `row ${id}: ${col} ${p}`).toMatch(problemPattern(col, p));
    }
  }
  expect(quarantined.size, 'quarantined rows').toBe(bad.length);
  const keys = new Set(bad.flatMap((r) => [...r.problems].map(([col, p]) => `${col}: ${p}`)));
  for (const k of Object.keys(m.quarantine!.by_reason)) expect(keys, `by_reason ${show(k)}`).toContain(k);

  if (c.format === 'parquet' && m.files.length > 0) await checkParquetPassthrough(c, run, duck);
}

/**
 * Parquet passthrough columns come out as they went in: the same Arrow type (as the output file's ARROW:schema says,
 * read by parquet-wasm, apart from three types Parquet cannot say: date64 as date32, timestamp[s] as [ms], time32[s]
 * as [ms]), and, as DuckDB reads the input and the output, the same DuckDB type and value, row by row.
 */
async function checkParquetPassthrough(c: TestCase, run: CaseRun, duck: DuckDBConnection): Promise<void> {
  const m = run.manifest!;
  const out = path.join(run.dir, 'out', RUN);
  const cols = c.passthrough.filter((n) => n !== c.hive?.name && !c.partitionBy.includes(n));
  const outFiles = m.files.map((f) => lit(path.join(out, f.path)));
  const inFiles = (await readdir(path.join(run.dir, 'in'), { recursive: true }))
    .filter((n) => n.endsWith('.parquet'))
    .map((n) => lit(path.join(run.dir, 'in', n)));
  const input = `read_parquet([${inFiles.join(', ')}], hive_partitioning = false)`;
  const output = `read_parquet([${outFiles.join(', ')}], hive_partitioning = false, union_by_name = true)`;
  const types = async (from: string) =>
    Object.fromEntries(
      ((await duck.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRowObjectsJS() as Record<string, string>[]).map(
        (r) => [r.column_name, r.column_type],
      ),
    );
  const [tin, tout] = [await types(input), await types(output)];
  // parquet-wasm's writer (the test's) stores date64 as a plain INT64, which DuckDB reads as BIGINT; batchscore
  // stores it as pyarrow does (a date), which the Arrow types below check.
  // It stores timestamp[s] as a plain INT64 too (Parquet has no seconds unit): DuckDB reads that input as BIGINT
  // seconds, and batchscore's output, stored as milliseconds with the timestamp type (as pyarrow stores it), as a
  // TIMESTAMP; their values are compared in seconds.
  const typeOf = (n: string) => c.columns.find((x) => x.name === n)!.type;
  const seconds = cols.filter((n) => typeOf(n) === 'ts:s' && tin[n] === 'BIGINT');
  const duckCols = cols.filter((n) => typeOf(n) !== 'date64' && !seconds.includes(n));
  for (const n of duckCols) expect([n, tout[n]], `DuckDB type of passthrough ${show(n)}`).toEqual([n, tin[n]]);
  for (const n of seconds) {
    expect([n, tout[n]], `DuckDB type of passthrough ${show(n)}`).toEqual([n, 'TIMESTAMP']);
    const sql =
      `SELECT i.id FROM ${input} i JOIN ${output} o ON i.id = o.id ` +
      `WHERE i.${q(n)}::DOUBLE IS DISTINCT FROM epoch(o.${q(n)}) LIMIT 3`;
    expect((await duck.runAndReadAll(sql)).getRowObjectsJS(), `passthrough ${show(n)}: rows changed`).toEqual([]);
  }
  for (const n of duckCols) {
    const sql =
      `SELECT i.id, i.${q(n)}::VARCHAR AS a, o.${q(n)}::VARCHAR AS b FROM ${input} i JOIN ${output} o ON i.id = o.id ` +
      `WHERE i.${q(n)} IS DISTINCT FROM o.${q(n)} OR i.${q(n)}::VARCHAR IS DISTINCT FROM o.${q(n)}::VARCHAR LIMIT 3`;
    const diff = (await duck.runAndReadAll(sql)).getRowObjectsJS();
    expect(diff, `passthrough ${show(n)}: rows whose value changed`).toEqual([]);
  }
  // Arrow types, as the first part's ARROW:schema gives them.
  const bytes = await readFile(path.join(out, m.files[0]!.path));
  const pw = parquetWasm();
  const schema = arrow.tableFromIPC(pw.readParquet(bytes).intoIPCStream()).schema;
  const stored: Record<string, string> = {
    'Date64<MILLISECOND>': 'Date32<DAY>',
    'Timestamp<SECOND>': 'Timestamp<MILLISECOND>',
  };
  for (const n of cols) {
    const col = c.columns.find((x) => x.name === n)!;
    const type = String(vectorOf(col.type, []).type).replace(/^Timestamp<SECOND(, .*)>$/, 'Timestamp<MILLISECOND$1>');
    const got = String(schema.fields.find((f) => f.name === n)?.type);
    expect([n, got], `Arrow type of passthrough ${show(n)}`).toEqual([n, stored[type] ?? type]);
  }
}
