import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalStore } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { FIXTURE_MODELS, runCli } from '../support/cli.js';
import { readManifest, readOutputRows } from '../support/output.js';

/**
 * CSV as RFC 4180 says, end to end: a header whose quoted names hold the delimiter, quotes and a line break; fields
 * that span lines (the last column's too), doubled quotes, stray quotes in unquoted fields, CRLF and LF, empty
 * fields, a byte order mark and a last line without a line break; cut into shards of a few bytes, so cuts fall
 * inside quoted fields. What is published is what Python's csv module reads (reasoned out in `rows`, the text's
 * source) and what DuckDB reads from the same file.
 */
const DATE = '2024-06-01';
const NAMES = ['id', 'name, full', 'say "hi"', 'multi\nline', 'note'];

/** mulberry32: a small seeded PRNG, so every run checks the same file. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['a', 'bc', ',', '"', '\n', '\r\n', ' ', 'é', '日本', 'x', '42'];

/**
 * A field as a writer writes it (Python's csv.writer, QUOTE_MINIMAL): quoted when it holds the delimiter, a quote
 * or a line break, with quotes doubled. `stray` writes a text with a quote inside (not first) unquoted, as hand-made
 * files have them (6" screen): Python's csv, pandas and DuckDB read it as written.
 */
function csvField(f: string): string {
  return /[",\r\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f;
}

function makeFile(n: number, seed: number): { text: string; rows: string[][] } {
  const r = rng(seed);
  const pick = () =>
    Array.from({ length: Math.floor(r() * 5) }, () => PIECES[Math.floor(r() * PIECES.length)]).join('');
  const rows: string[][] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const stray = r() < 0.2;
    const row = [String(i), pick(), stray ? '6" screen' : pick(), pick(), r() < 0.3 ? `line one\nline "two"` : pick()];
    rows.push(row);
    lines.push(row.map((f, j) => (j === 2 && stray ? f : csvField(f))).join(','));
  }
  const eol = (i: number) => (i % 3 === 0 ? '\r\n' : '\n');
  const header = NAMES.map(csvField).join(',');
  // A byte order mark first, and no line break after the last record.
  const text = '\uFEFF' + [header, ...lines].map((l, i) => (i === lines.length ? l : l + eol(i))).join('');
  return { text, rows };
}

function jobYaml(bytesPerShard: number): string {
  const q = (s: string) => JSON.stringify(s);
  return `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: rfc4180}
spec:
  input: {uri: in/, format: csv}
  model:
    uri: "${path.join(FIXTURE_MODELS, 'echo_float64.onnx')}"
    version: v3
    inputs: [{name: x, columns: [id]}]
    outputs: [{name: y, index: 0, column: fed}]
  output: {uri: out/, passthrough: [${NAMES.map(q).join(', ')}]}
  sharding: {bytesPerShard: ${bytesPerShard}}
`;
}

async function duckdbRows(file: string): Promise<string[][]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(
      `SELECT * FROM read_csv('${file}', header = true, all_varchar = true, quote = '"', escape = '"', ` +
        `delim = ',', strict_mode = false)`,
    );
    expect(r.columnNames()).toEqual(NAMES);
    return r.getRows().map((row) => row.map((v) => (v === null ? '' : String(v))));
  } finally {
    c.closeSync();
  }
}

describe('CSV as RFC 4180 says, cut into shards anywhere', () => {
  const { text, rows } = makeFile(300, 4180);

  it('DuckDB reads the test file as Python csv does (the expected rows)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-rfc-'));
    await writeFile(path.join(dir, 'a.csv'), text);
    expect(await duckdbRows(path.join(dir, 'a.csv'))).toEqual(rows);
  });

  it.each([64 << 20, 997, 97])('bytesPerShard %i: every record published once, as written', async (bytesPerShard) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-rfc-'));
    await mkdir(path.join(dir, 'in'));
    await writeFile(path.join(dir, 'in', 'a.csv'), text);
    await writeFile(path.join(dir, 'job.yaml'), jobYaml(bytesPerShard));
    const v = await runCli(['validate', 'job.yaml', '--date', DATE], { cwd: dir });
    expect(v.code, v.stderr + v.stdout).toBe(0);
    const r = await runCli(['run', 'job.yaml', '--local', '--date', DATE, '--workers', '2'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const m = await readManifest(out, DATE);
    expect(m.record_count).toBe(rows.length);
    expect(m.quarantined_record_count).toBe(0);
    if (bytesPerShard < 1000) expect(m.shard_count).toBeGreaterThanOrEqual(Math.floor(text.length / bytesPerShard));
    const { table } = await readOutputRows(out, m);
    const got = [...table]
      .map((row) => [...NAMES.map((c) => String(row[c])), row.fed as number] as const)
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(got.map((g) => g.slice(0, NAMES.length))).toEqual(rows);
    expect(got.map((g) => g[NAMES.length])).toEqual(rows.map((_, i) => i));
  });
});

describe('the cases a stranger hit', () => {
  async function runText(text: string, passthrough: string[], extra = '') {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-rfc-'));
    await mkdir(path.join(dir, 'in'));
    await writeFile(path.join(dir, 'in', 'a.csv'), text);
    await writeFile(
      path.join(dir, 'job.yaml'),
      jobYaml(64 << 20).replace(/passthrough: \[.*\]/, `passthrough: [${passthrough.map((s) => JSON.stringify(s))}]`) +
        extra,
    );
    const r = await runCli(['run', 'job.yaml', '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
    return { r, out: new LocalStore(path.join(dir, 'out')) };
  }

  it('a quoted header name holding the delimiter binds by its name, and rows read', async () => {
    const { r, out } = await runText('id,"income, usd"\n1,5\n2,6\n', ['income, usd']);
    expect(r.code, r.stderr).toBe(0);
    const { table } = await readOutputRows(out, await readManifest(out, DATE));
    expect([...table].map((row) => row['income, usd'])).toEqual(['5', '6']);
  });

  it('a quoted field spanning lines in the last column is published whole, with no invented row', async () => {
    const { r, out } = await runText('id,note\n1,"first\nsecond"\n2,plain\n', ['note']);
    expect(r.code, r.stderr).toBe(0);
    const m = await readManifest(out, DATE);
    expect(m.record_count).toBe(2);
    const { table } = await readOutputRows(out, m);
    expect([...table].map((row) => row.note)).toEqual(['first\nsecond', 'plain']);
  });

  it('a quote inside an unquoted field is kept, as pandas and Python csv keep it', async () => {
    const { r, out } = await runText('id,item\n1,6" screen\n2,a "b" c\n', ['item']);
    expect(r.code, r.stderr).toBe(0);
    const { table } = await readOutputRows(out, await readManifest(out, DATE));
    expect([...table].map((row) => row.item)).toEqual(['6" screen', 'a "b" c']);
  });

  it('a quoted field left open fails with the file and the byte it opens at', async () => {
    const { r } = await runText('id,note\n1,ok\n2,"never closed\n3,x\n', ['note']);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(
      /in\/a\.csv: the quoted field that opens at byte 15 is not closed before the end of the file/,
    );
  });
});
