import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, openParquet, runDir, toParquetBytes } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { decimalVector, float64Dictionary } from '../support/arrowTypes.js';
import { CREDIT_MODEL, FIXTURE_MODELS, runCli } from '../support/cli.js';
import { customersAsText, jobYaml, makeCustomers, writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';

const DATE = '2024-06-01';

async function tempDir(name: string) {
  return mkdtemp(path.join(tmpdir(), `bs-${name}-`));
}

/** The customers table with `age` replaced by another vector. */
function withAge(t: arrow.Table, age: arrow.Vector): arrow.Table {
  return new arrow.Table({ ...Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!])), age });
}

async function runJob(dir: string, yaml: string) {
  const job = path.join(dir, 'job.yaml');
  await writeFile(job, yaml);
  const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
  const out = new LocalStore(path.join(dir, 'out'));
  return { r, out };
}

describe('feature column types', () => {
  it('a decimal128(10,2) feature is scored on its scaled values, and its statistics are scaled too', async () => {
    const dir = await tempDir('decimal');
    const base = makeCustomers(3_000, 0);
    // Ages with cents: 45.13 is stored as 4513 at scale 2.
    const src = base.getChild('age')!.toArray() as Float64Array;
    const unscaled = Array.from(src, (a, i) => BigInt(a * 100 + ((i * 37) % 100)));
    const floats = withAge(base, arrow.makeVector(Float64Array.from(unscaled, (u) => Number(u) / 100)));
    await new LocalStore(dir).put(
      'in/part-0.parquet',
      toParquetBytes(withAge(base, decimalVector(unscaled, 10, 2)), undefined, 1_000),
    );
    const { r, out } = await runJob(
      dir,
      jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: 1_000 }),
    );
    expect(r.code, r.stderr).toBe(0);
    const m = await readManifest(out, DATE);
    expect(m.record_count).toBe(3_000);
    const { table } = await readOutputRows(out, m);
    const cmp = compareToReference(
      table,
      base.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(floats),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 3_000 });
    const ages = Array.from(floats.getChild('age')!.toArray() as Float64Array);
    expect(m.quality!.features.age).toMatchObject({ count: 3_000, min: Math.min(...ages), max: Math.max(...ages) });
    expect(m.quality!.features.age!.max).toBeLessThan(76);
  });

  it('a dictionary<int32, float64> feature is decoded and scored', async () => {
    const dir = await tempDir('dict');
    const base = makeCustomers(2_000, 0);
    const src = Array.from(base.getChild('age')!.toArray() as Float64Array);
    const values = [...new Set(src)].sort((a, b) => a - b);
    await new LocalStore(dir).put(
      'in/part-0.parquet',
      toParquetBytes(
        withAge(
          base,
          float64Dictionary(
            values,
            src.map((a) => values.indexOf(a)),
          ),
        ),
        undefined,
        500,
      ),
    );
    const { r, out } = await runJob(
      dir,
      jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: 1_000 }),
    );
    expect(r.code, r.stderr).toBe(0);
    const m = await readManifest(out, DATE);
    const { table } = await readOutputRows(out, m);
    const cmp = compareToReference(
      table,
      base.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(base),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 2_000 });
  });
});

describe('models with a fixed batch dimension', () => {
  it.each([
    ['credit_batch8.onnx', 8, 1_003, ''],
    ['credit_batch1.onnx', 1, 150, '  worker: {batchSize: 1}\n'],
  ])('%s: scores every row in runs of its size, bit for bit as onnxruntime', async (file, n, rows, extra) => {
    const dir = await tempDir('fixed');
    // Shards end mid-batch, so each shard's last run is padded.
    const { table: all } = await writeCustomers(new LocalStore(dir), 'in/', rows, rows, 250);
    const model = path.join(FIXTURE_MODELS, file);
    const { r, out } = await runJob(dir, jobYaml({ input: 'in/', model, output: 'out/', rowsPerShard: 500, extra }));
    expect(r.code, r.stderr).toBe(0);
    const info = r.stderr.split('\n').filter((l) => l.includes('fixed batch dimension'));
    expect(info).toEqual([
      `batchscore: ${'file://' + model}: model input "features" has a fixed batch dimension ` +
        `of ${n}, so rows are scored ${n} at a time (spec.worker.batchSize does not apply; ` +
        `a last batch short of ${n} rows is padded and the padding's outputs dropped)`,
    ]);
    const m = await readManifest(out, DATE);
    expect(m.record_count).toBe(rows);
    const { table } = await readOutputRows(out, m);
    const cmp = compareToReference(
      table,
      all.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(all),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows });
  });
});

describe('output.rowsPerPart', () => {
  it('is a maximum even when input row groups are larger', async () => {
    const dir = await tempDir('parts');
    const store = new LocalStore(dir);
    await writeCustomers(store, 'in/', 120_000, 120_000, 50_000);
    const yaml = jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: 1_000_000 }).replace(
      '  output:\n',
      '  output:\n    rowsPerPart: 7000\n',
    );
    const { r, out } = await runJob(dir, yaml);
    expect(r.code, r.stderr).toBe(0);
    const m = await readManifest(out, DATE);
    const counts: number[] = [];
    for (const f of m.files) {
      const pf = await openParquet(out, runDir({ batchDate: DATE, modelVersion: 'v3' }) + f.path);
      counts.push(pf.metadata().fileMetadata().numRows());
      pf.free();
    }
    expect(counts.sort((a, b) => b - a)).toEqual([...Array<number>(17).fill(7_000), 1_000]);
  });
});

describe('text input', () => {
  it('a .tsv file is split on tabs when spec.input.csv.delimiter is not set', async () => {
    const dir = await tempDir('tsv');
    await mkdir(path.join(dir, 'in'));
    const t = makeCustomers(1_000, 0);
    await writeFile(path.join(dir, 'in', 'a.tsv'), customersAsText(t, 'csv').replace(/,/g, '\t'));
    const { r, out } = await runJob(dir, jobYaml({ input: 'in/', format: 'csv', model: CREDIT_MODEL, output: 'out/' }));
    expect(r.code, r.stderr).toBe(0);
    const m = await readManifest(out, DATE);
    const { table } = await readOutputRows(out, m);
    const cmp = compareToReference(
      table,
      t.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(t),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 1_000 });
  });

  it.each(['csv', 'jsonl'] as const)(
    '%s: only decimal number syntax is a number ("0x1F4" is quarantined, not scored as 500)',
    async (format) => {
      const dir = await tempDir('hex');
      await mkdir(path.join(dir, 'in'));
      const t = makeCustomers(100, 0);
      const lines = customersAsText(t, format).split('\n');
      // Row 7 (line 8 in CSV, after the header) gets a hex age, row 9 binary and octal ones, row 11 " 1e1 " (a number).
      const at = (row: number) => row + (format === 'csv' ? 1 : 0);
      const set = (row: number, col: string, raw: string) => {
        if (format === 'csv') {
          const f = lines[at(row)]!.split(',');
          f[['customer_id', 'age', 'income', 'credit', 'loan'].indexOf(col)] = raw;
          lines[at(row)] = f.join(',');
        } else {
          const o = JSON.parse(lines[at(row)]!) as Record<string, unknown>;
          o[col] = raw;
          lines[at(row)] = JSON.stringify(o);
        }
      };
      set(7, 'age', '0x1F4');
      set(9, 'income', '0b101');
      set(9, 'loan', '0o17');
      set(11, 'age', ' 4.5e1 ');
      await writeFile(path.join(dir, 'in', `a.${format}`), lines.join('\n'));
      const { r, out } = await runJob(
        dir,
        jobYaml({
          input: 'in/',
          format,
          model: CREDIT_MODEL,
          output: 'out/',
          extra: '  validation: {maxInvalidFraction: 0.5}\n',
        }),
      );
      expect(r.code, r.stderr).toBe(0);
      const m = await readManifest(out, DATE);
      expect(m).toMatchObject({ input_record_count: 100, record_count: 98, quarantined_record_count: 2 });
      expect(m.quarantine!.by_reason).toEqual({ 'age: not_a_number': 1, 'income: not_a_number': 1 });
      const { table } = await readOutputRows(out, m);
      const ids = table.getChild('customer_id')!;
      const scored = new Set(Array.from({ length: table.numRows }, (_, i) => String(ids.get(i))));
      expect([scored.has('7'), scored.has('9'), scored.has('11')]).toEqual([false, false, true]);
    },
  );
});
