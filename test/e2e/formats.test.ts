import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, toParquetBytes } from '@batchscore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, FIXTURE_MODELS, runCli } from '../support/cli.js';
import { customersAsText, jobYaml, makeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';

const DATE = '2024-05-05';

async function tempDir(name: string) {
  return mkdtemp(path.join(tmpdir(), `bs-${name}-`));
}

describe.each(['csv', 'jsonl'] as const)('%s input split by byte ranges', (format) => {
  let dir: string;
  let all: arrow.Table;
  let bytes = 0;
  beforeAll(async () => {
    dir = await tempDir(format);
    await mkdir(path.join(dir, 'in'));
    const a = makeCustomers(7_000, 0);
    const b = makeCustomers(5_000, 7_000);
    all = new arrow.Table([...a.batches, ...b.batches]);
    const textA = customersAsText(a, format);
    const textB = customersAsText(b, format).replace(/\n/g, format === 'csv' ? '\r\n' : '\n');
    bytes = Buffer.byteLength(textA) + Buffer.byteLength(textB);
    await writeFile(path.join(dir, 'in', `a.${format}`), textA);
    await writeFile(path.join(dir, 'in', `b.${format}`), textB);
    await writeFile(path.join(dir, 'in', '_SUCCESS'), '');
  });

  it('scores every line exactly once across many line-aligned ranges', async () => {
    const job = path.join(dir, 'job.yaml');
    await writeFile(job, jobYaml({ input: 'in/', format, model: CREDIT_MODEL, output: 'out/', bytesPerShard: 40_000 }));
    const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '2'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const m = await readManifest(out, DATE);
    expect(m.record_count).toBe(12_000);
    expect(m.input_record_count).toBe(12_000);
    expect(m.shard_count).toBe(Math.ceil(bytes / 40_000));
    expect(m.shard_count).toBeGreaterThan(5);
    const { table } = await readOutputRows(out, m);
    // CSV and JSONL carry no types: passthrough columns are written as strings.
    expect(String(table.getChild('customer_id')!.type)).toBe('Utf8');
    const cmp = compareToReference(
      table,
      all.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(all),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: cmp.maxDiff, rows: 12_000 });
    expect(cmp.maxDiff).toBe(0); // bit for bit: batching and tuning never change a score on CPU
  });
});

describe('hive-partitioned input and partitioned output', () => {
  it('turns k=v folders into columns and lays out partitionBy folders below the run folder', async () => {
    const dir = await tempDir('hive');
    const store = new LocalStore(dir);
    const eu = makeCustomers(3_000, 0);
    const us = makeCustomers(2_000, 3_000);
    await store.put('in/region=EU/part-0.parquet', toParquetBytes(eu, undefined, 1_000));
    await store.put('in/region=US/part-0.parquet', toParquetBytes(us, undefined, 1_000));
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: 'in/',
        model: CREDIT_MODEL,
        output: 'out/',
        rowsPerShard: 2_000,
        passthrough: ['customer_id', 'region'],
        partitionBy: ['region'],
      }),
    );
    const r = await runCli(['run', job, '--local', '--date', DATE]);
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const m = await readManifest(out, DATE);
    expect(m.output).toMatchObject({
      columns: [
        { name: 'customer_id', type: 'Int64' },
        { name: 'default_probability', type: 'Float32' },
      ],
      partition_by: ['region'],
    });
    expect(m.record_count).toBe(5_000);
    const byFolder = new Map<string, number>();
    for (const f of m.files) {
      const folder = f.path.slice(0, f.path.indexOf('/'));
      byFolder.set(folder, (byFolder.get(folder) ?? 0) + f.rows);
    }
    expect(Object.fromEntries(byFolder)).toEqual({ 'region=EU': 3_000, 'region=US': 2_000 });
    const { table, paths } = await readOutputRows(out, m);
    const ids = table.getChild('customer_id')!;
    for (let i = 0; i < table.numRows; i++) {
      expect(paths[i]!.startsWith(Number(ids.get(i)) < 3_000 ? 'region=EU/' : 'region=US/')).toBe(true);
    }
    const all = new arrow.Table([...eu.batches, ...us.batches]);
    const cmp = compareToReference(
      table,
      all.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(all),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: cmp.maxDiff, rows: 5_000 });
  });
});

describe('model inputs of other dtypes and whole-row outputs', () => {
  it('casts columns to each input dtype, stacks them, and writes a fixed-size list without an index', async () => {
    const dir = await tempDir('dtypes');
    const t = makeCustomers(1_000, 0);
    await new LocalStore(dir).put('in/x.parquet', toParquetBytes(t));
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: 'in/',
        model: path.join(FIXTURE_MODELS, 'two_inputs_f64.onnx'),
        output: 'out/',
        inputs: '[{name: a, columns: [age, income]}, {name: b, columns: [loan]}]',
        outputs: '[{name: y, index: 0, column: age_plus_income}, {name: y, column: y}]',
      }),
    );
    const r = await runCli(['run', job, '--local', '--date', DATE]);
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const { table } = await readOutputRows(out, await readManifest(out, DATE));
    expect(table.numRows).toBe(1_000);
    expect(String(table.getChild('age_plus_income')!.type)).toBe('Float64');
    expect(String(table.getChild('y')!.type)).toMatch(/^FixedSizeList\[3\]<Float64>$/);
    const row = new Map<number, [number, number[]]>();
    for (let i = 0; i < table.numRows; i++) {
      row.set(Number(table.getChild('customer_id')!.get(i)), [
        table.getChild('age_plus_income')!.get(i),
        Array.from(table.getChild('y')!.get(i)),
      ]);
    }
    for (const i of [0, 1, 499, 999]) {
      const age = t.getChild('age')!.get(i) as number;
      const income = t.getChild('income')!.get(i) as number;
      const loan = t.getChild('loan')!.get(i) as number;
      expect(row.get(i)).toEqual([age + income, [age + income, age * 2, Math.trunc(loan)]]);
    }
  });
});
