import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, openParquet, runDir, streamParquet, toParquetBytes, type BatchManifest } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { FIXTURE_MODELS, runCli } from '../support/cli.js';
import { INT_DTYPES, numpyCast, type SourceValue } from '../support/numpyCast.js';
import { readManifest, readOutputRows } from '../support/output.js';

/**
 * The numeric rule, end to end: every model input dtype fed from Parquet columns of many types, CSV and JSONL,
 * through echo_all.onnx (y_<dtype> = x_<dtype>), so the published y_<dtype> is what the model was fed. Each row
 * probes one dtype at one of its boundaries (its other columns hold 0, which every dtype holds): it is published
 * as numpy's astype gives it (test/support/numpyCast.ts), or quarantined with a reason naming the column.
 */
const DATE = '2024-06-01';
const NUMERIC = ['float16', 'float32', 'float64', ...Object.keys(INT_DTYPES), 'bool'];

const i = (v: bigint | number): SourceValue => ({ int: BigInt(v) });
const f = (v: number): SourceValue => ({ float: v });
const T32 = 2 ** 128 - 2 ** 103; // float32's overflow threshold: the tie above its largest value

function intProbes(dtype: string): SourceValue[] {
  const [lo, hi] = INT_DTYPES[dtype]!;
  return [i(lo), i(hi), i(lo - 1n), i(hi + 1n), i(0), f(Number(hi) + 0.5), f(Number(lo) - 0.5), f(-0.9), f(0.5)];
}

const PROBES: Record<string, SourceValue[]> = {
  float16: [
    f(65504),
    f(65519.99),
    f(65520),
    f(70000),
    i(70000),
    i(65519),
    f(0.1),
    f(2 ** -24),
    f(2 ** -25),
    f(1 + 2 ** -11 + 2 ** -40),
    f(-0),
    i(2049),
    i(-65504),
  ],
  float32: [
    f(3.4028234663852886e38),
    f(-3.4028234663852886e38),
    f(T32),
    f(T32 - 2 ** 75),
    f(1e39),
    f(-1e39),
    f(0.1),
    f(2 ** -149),
    f(2 ** -150),
    f(-0),
    i(2n ** 60n + 2n ** 36n + 1n),
    i(2n ** 63n - 1n),
    i(2n ** 64n - 1n),
    i(16777217),
  ],
  float64: [
    f(1.7976931348623157e308),
    f(5e-324),
    f(-0),
    f(0.1),
    i(2n ** 53n + 1n),
    i(2n ** 63n - 1n),
    i(2n ** 64n - 1n),
  ],
  bool: [i(0), i(1), i(2), f(-0.5), f(-0), f(1e-300), { bool: true }, { bool: false }],
  ...Object.fromEntries(
    Object.keys(INT_DTYPES).map((d) => [
      d,
      [...intProbes(d), ...(d.endsWith('64') ? [i(2n ** 53n + 1n), i(-(2n ** 53n) - 1n)] : [])],
    ]),
  ),
};

/** The Parquet source types, and how a probe is held in each (undefined: the type cannot hold it exactly). */
const SOURCES: Record<string, { type: () => arrow.DataType; hold: (s: SourceValue) => SourceValue | undefined }> = {
  float64: { type: () => new arrow.Float64(), hold: (s) => asFloat(s, (x) => x) },
  float32: { type: () => new arrow.Float32(), hold: (s) => asFloat(s, Math.fround) },
  ...Object.fromEntries(
    Object.entries(INT_DTYPES).map(([d, [lo, hi]]) => [
      d,
      {
        type: () => intType(d),
        hold: (s: SourceValue) => {
          const v =
            'int' in s ? s.int : 'bool' in s ? BigInt(s.bool) : Number.isInteger(s.float) ? BigInt(s.float) : null;
          return v !== null && v >= lo && v <= hi && !('float' in s && Object.is(s.float, -0)) ? i(v) : undefined;
        },
      },
    ]),
  ),
  bool: {
    type: () => new arrow.Bool(),
    hold: (s) => ('bool' in s ? s : 'int' in s && (s.int === 0n || s.int === 1n) ? { bool: s.int === 1n } : undefined),
  },
};

function asFloat(s: SourceValue, narrow: (x: number) => number): SourceValue | undefined {
  const x = 'float' in s ? s.float : 'int' in s ? Number(s.int) : Number(s.bool);
  if ('int' in s && BigInt(Math.trunc(narrow(x))) !== s.int) return undefined;
  if (!Number.isFinite(narrow(x)) || !Object.is(narrow(x), x)) return undefined;
  return 'int' in s || 'bool' in s ? f(x) : s;
}

function intType(d: string): arrow.DataType {
  const bits = Number(d.replace(/\D/g, '')) as 8 | 16 | 32 | 64;
  return d.startsWith('u')
    ? new { 8: arrow.Uint8, 16: arrow.Uint16, 32: arrow.Uint32, 64: arrow.Uint64 }[bits]()
    : new { 8: arrow.Int8, 16: arrow.Int16, 32: arrow.Int32, 64: arrow.Int64 }[bits]();
}

/** Rows: [target dtype, probe as the source holds it]. */
function rowsFor(hold: (s: SourceValue) => SourceValue | undefined): [string, SourceValue][] {
  return NUMERIC.flatMap((d) => PROBES[d]!.flatMap((p) => (hold(p) ? [[d, hold(p)!] as [string, SourceValue]] : [])));
}

const ZERO: SourceValue = i(0);

function jobYaml(format: string): string {
  const all = [...NUMERIC, 'string'];
  return `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: casts}
spec:
  input: {uri: in/, format: ${format}}
  model:
    uri: "${path.join(FIXTURE_MODELS, 'echo_all.onnx')}"
    version: v3
    inputs: [${all.map((d) => `{name: x_${d}, columns: [c_${d}]}`).join(', ')}]
    outputs: [${all.map((d) => `{name: y_${d}, index: 0, column: y_${d}}`).join(', ')}]
  output: {uri: out/, passthrough: [id]}
  validation: {maxInvalidFraction: 1}
`;
}

/** Writes the rows as a table of one source type (Parquet) or as text, runs them, and returns what came out. */
async function run(
  format: 'parquet' | 'csv' | 'jsonl',
  rows: [string, SourceValue][],
  sourceType?: () => arrow.DataType,
): Promise<{ published: Map<number, Record<string, unknown>>; quarantined: Map<number, string>; m: BatchManifest }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-casts-'));
  await mkdir(path.join(dir, 'in'));
  const cell = (r: number, d: string): SourceValue => (rows[r]![0] === d ? rows[r]![1] : ZERO);
  const all = [...NUMERIC, 'string'];
  if (format === 'parquet') {
    const cols: Record<string, arrow.Vector> = {
      id: arrow.vectorFromArray(
        rows.map((_, r) => BigInt(r)),
        new arrow.Int64(),
      ),
    };
    for (const d of all) {
      const type = sourceType!();
      const values = rows.map((_, r) => {
        const s = cell(r, d);
        if ('bool' in s) return arrow.DataType.isBool(type) ? s.bool : Number(s.bool);
        if (arrow.DataType.isBool(type)) return 'int' in s ? s.int !== 0n : s.float !== 0;
        if ('int' in s) return type instanceof arrow.Int && type.bitWidth === 64 ? s.int : Number(s.int);
        return s.float;
      });
      cols[`c_${d}`] = arrow.vectorFromArray(values as never[], type);
    }
    await new LocalStore(dir).put('in/a.parquet', toParquetBytes(new arrow.Table(cols)));
  } else {
    const text = (s: SourceValue) =>
      'bool' in s
        ? String(s.bool)
        : 'int' in s
          ? String(s.int)
          : Object.is(s.float, -0)
            ? '-0.0'
            : /^-?\d+$/.test(String(s.float))
              ? `${s.float}.0`
              : String(s.float);
    const lines = rows.map((_, r) =>
      format === 'csv'
        ? [String(r), ...all.map((d) => text(cell(r, d)))].join(',')
        : `{"id": ${r}, ${all.map((d) => `"c_${d}": ${text(cell(r, d))}`).join(', ')}}`,
    );
    if (format === 'csv') lines.unshift(['id', ...all.map((d) => `c_${d}`)].join(','));
    await writeFile(path.join(dir, 'in', `a.${format}`), lines.join('\n') + '\n');
  }
  await writeFile(path.join(dir, 'job.yaml'), jobYaml(format));
  const r = await runCli(['run', 'job.yaml', '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const out = new LocalStore(path.join(dir, 'out'));
  const m = await readManifest(out, DATE);
  const published = new Map<number, Record<string, unknown>>();
  const { table } = await readOutputRows(out, m);
  for (const row of table) {
    const o = row.toJSON() as Record<string, unknown>;
    published.set(Number(o.id), o);
  }
  const quarantined = new Map<number, string>();
  const qdir = `_quarantine/${runDir({ batchDate: DATE, modelVersion: 'v3' })}`;
  for (const file of m.quarantine!.files) {
    const pf = await openParquet(out, qdir + file.path);
    for await (const t of streamParquet(pf, { rowGroups: [0], batchSize: 1 << 20 }))
      for (const row of t) quarantined.set(Number(row.id), String(row.reason));
    pf.free();
  }
  return { published, quarantined, m };
}

/** The published value as the reference spells it: integers as bigint, float16 published as float32. */
function normalize(v: unknown, dtype: string): unknown {
  if (v === null || v === undefined) return v;
  if (INT_DTYPES[dtype]) return BigInt(v as number | bigint);
  return v;
}

function check(
  rows: [string, SourceValue][],
  got: Awaited<ReturnType<typeof run>>,
): { published: number; quarantined: number } {
  let published = 0;
  let quarantined = 0;
  rows.forEach(([d, s], r) => {
    const want = numpyCast(s, d);
    const where = `row ${r}: ${JSON.stringify(s, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))} → ${d}`;
    if ('quarantined' in want) {
      quarantined++;
      const row = got.published.get(r);
      expect(got.quarantined.get(r) ?? `not quarantined: published ${String(row?.[`y_${d}`])}`, where).toMatch(
        new RegExp(`^c_${d} \\S+ is not representable as ${d} \\(model input "x_${d}"\\)$`),
      );
      return;
    }
    published++;
    const row = got.published.get(r);
    expect(row, where).toBeDefined();
    const actual = normalize(row![`y_${d}`], d);
    expect(Object.is(actual, want.value) || actual === want.value, `${where}: got ${String(actual)}`).toBe(true);
    for (const other of NUMERIC.filter((x) => x !== d)) {
      expect(normalize(row![`y_${other}`], other), `${where}: y_${other}`).toEqual(
        (numpyCast(ZERO, other) as { value: unknown }).value,
      );
    }
  });
  expect(got.m.quarantined_record_count).toBe(quarantined);
  for (const [k, n] of Object.entries(got.m.quarantine!.by_reason))
    expect(k, `${n}`).toMatch(/^c_\w+: unrepresentable$/);
  return { published, quarantined };
}

describe('every model input dtype is fed as numpy casts, or the row is quarantined naming the column', () => {
  it.each(Object.keys(SOURCES))('from a Parquet %s column', async (source) => {
    const rows = rowsFor(SOURCES[source]!.hold);
    const got = await run('parquet', rows, SOURCES[source]!.type);
    const n = check(rows, got);
    expect(n.published).toBeGreaterThan(0);
  });

  it.each(['csv', 'jsonl'] as const)(
    'from %s: integers exactly as written (past 2^53), floats as doubles',
    async (format) => {
      const rows = rowsFor((s) => s);
      const got = await run(format, rows);
      const n = check(rows, got);
      expect(n.quarantined).toBeGreaterThan(20);
    },
  );
});

describe('the reference (test/support/numpyCast.ts) on values whose casts numpy documents', () => {
  it.each([
    [f(1e39), 'float32', 'quarantined'],
    [f(T32 - 2 ** 75), 'float32', 3.4028234663852886e38],
    [f(2 ** -150), 'float32', 0],
    [f(3 * 2 ** -150), 'float32', 2 ** -148],
    [i(2n ** 60n + 2n ** 36n + 1n), 'float32', 2 ** 60 + 2 ** 37],
    [i(2n ** 64n - 1n), 'float32', 2 ** 64],
    [i(2n ** 53n + 1n), 'float64', 2 ** 53],
    [f(70000), 'float16', 'quarantined'],
    [f(65519.99), 'float16', 65504],
    [f(1 + 2 ** -11 + 2 ** -40), 'float16', 1 + 2 ** -10],
    [f(2 ** -25), 'float16', 0],
    [i(2049), 'float16', 2048],
    [f(3e9), 'int32', 'quarantined'],
    [i(3_000_000_000), 'int32', 'quarantined'],
    [i(2n ** 64n - 1n), 'int64', 'quarantined'],
    [f(2 ** 63), 'int64', 'quarantined'],
    [f(-(2 ** 63)), 'int64', -(2n ** 63n)],
    [f(127.9), 'int8', 127n],
    [f(-128.9), 'int8', -128n],
    [f(-0.9), 'uint8', 0n],
    [i(-1), 'uint64', 'quarantined'],
    [f(-0.5), 'bool', true],
    [f(-0), 'bool', false],
    [i(0), 'float32', 0],
    [f(-0), 'float64', -0],
  ])('%o → %s: %s', (src, dtype, want) => {
    const got = numpyCast(src, dtype);
    if (want === 'quarantined') expect(got).toEqual({ quarantined: true });
    else expect(Object.is((got as { value: unknown }).value, want)).toBe(true);
  });
});

describe('a tensor(string) input gets numbers spelled as pyarrow casts them to string', () => {
  async function spelled(format: 'parquet' | 'csv' | 'jsonl', write: (dir: string) => Promise<void>) {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-spell-'));
    await mkdir(path.join(dir, 'in'));
    await write(dir);
    await writeFile(
      path.join(dir, 'job.yaml'),
      `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: spell}
spec:
  input: {uri: in/, format: ${format}}
  model:
    uri: "${path.join(FIXTURE_MODELS, 'echo_string.onnx')}"
    version: v3
    inputs: [{name: x, columns: [v]}]
    outputs: [{name: y, index: 0, column: fed}]
  output: {uri: out/, passthrough: [id]}
`,
    );
    const r = await runCli(['run', 'job.yaml', '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const { table } = await readOutputRows(out, await readManifest(out, DATE));
    return [...table].sort((a, b) => Number(a.id) - Number(b.id)).map((row) => row.fed as string);
  }
  const parquet = (v: arrow.Vector) => async (dir: string) =>
    new LocalStore(dir).put(
      'in/a.parquet',
      toParquetBytes(
        new arrow.Table({
          id: arrow.vectorFromArray(
            Array.from({ length: v.length }, (_, k) => k),
            new arrow.Int32(),
          ),
          v,
        }),
      ),
    );

  it.each([
    [
      'float32',
      new arrow.Float32(),
      [0.1, 1e16, 1e-7, 100, -0, 1.5, 3.4028234663852886e38, 16777217, 2 ** -149],
      ['0.1', '1e+16', '1e-7', '100', '-0', '1.5', '3.4028235e+38', '16777216', '1e-45'],
    ],
    [
      'float64',
      new arrow.Float64(),
      [0.1, 1e16, 123456789.5, 1e-7, 0.000001, 1e10, 9999999999, 5e-324, -2.5],
      ['0.1', '1e+16', '123456789.5', '1e-7', '0.000001', '1e+10', '9999999999', '5e-324', '-2.5'],
    ],
    ['int64', new arrow.Int64(), [2n ** 63n - 1n, -5n, 0n], ['9223372036854775807', '-5', '0']],
    ['uint8', new arrow.Uint8(), [255, 0], ['255', '0']],
    ['bool', new arrow.Bool(), [true, false], ['true', 'false']],
  ])('from a Parquet %s column', async (_, type, values, want) => {
    expect(await spelled('parquet', parquet(arrow.vectorFromArray(values as never[], type)))).toEqual(want);
  });

  it('from CSV: as written', async () => {
    const got = await spelled('csv', (dir) =>
      writeFile(path.join(dir, 'in', 'a.csv'), 'id,v\n0,007\n1,0.10\n2,1e3\n3, 42 \n4,-0\n'),
    );
    expect(got).toEqual(['007', '0.10', '1e3', ' 42 ', '-0']);
  });

  it("from JSONL: an integer token's digits, a float token's shortest digits in pyarrow's layout", async () => {
    const got = await spelled('jsonl', (dir) =>
      writeFile(
        path.join(dir, 'in', 'a.jsonl'),
        [
          '{"id": 0, "v": 0.1}',
          '{"id": 1, "v": 1e16}',
          '{"id": 2, "v": 10000000000000000}',
          '{"id": 3, "v": 18446744073709551615}',
          '{"id": 4, "v": -0}',
          '{"id": 5, "v": -0.0}',
          '{"id": 6, "v": true}',
          '{"id": 7, "v": "as is"}',
          '{"id": 8, "v": 100.0}',
        ].join('\n') + '\n',
      ),
    );
    expect(got).toEqual([
      '0.1',
      '1e+16',
      '10000000000000000',
      '18446744073709551615',
      '0',
      '-0',
      'true',
      'as is',
      '100',
    ]);
  });
});
