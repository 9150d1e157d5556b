import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { DuckDBInstance } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import { LocalStore, openParquet, parquetWasm, runDir, streamParquet } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { readManifest } from '../support/output.js';

/**
 * Every Arrow type the Parquet reader gives comes out of a run with the same type and value, with and without
 * partitionBy (batches hold several partition values, so rows are taken apart by index), in passthrough and
 * prediction columns. Asserted as DuckDB and polars read the output, against the same readers on the input.
 */

const DATE = '2024-06-01';
const ROWS = 3_000;

async function duckdb(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
  }
}

/** Columns of every DuckDB type, with nulls and each type's edges, as a Spark or DuckDB user's files hold them. */
const DUCK_COLUMNS: Record<string, string> = {
  i8: `[-128, 127, 0][i % 3 + 1]::TINYINT`,
  i16: `[-32768, 32767, 7][i % 3 + 1]::SMALLINT`,
  i32: `[-2147483648, 2147483647, i][i % 3 + 1]::INTEGER`,
  i64: `[-9223372036854775808, 9223372036854775807, 9007199254740993][i % 3 + 1]::BIGINT`,
  u8: `[0, 255][i % 2 + 1]::UTINYINT`,
  u16: `[0, 65535][i % 2 + 1]::USMALLINT`,
  u32: `[0, 4294967295][i % 2 + 1]::UINTEGER`,
  u64: `[0, 18446744073709551615, 9007199254740993][i % 3 + 1]::UBIGINT`,
  f32: `['NaN', 'inf', '-inf', '-0.0', '1.4e-45', '3.4028235e38', '0.1'][i % 7 + 1]::FLOAT`,
  f64: `['NaN', '-inf', '5e-324', '1.7976931348623157e308', '0.1'][i % 5 + 1]::DOUBLE`,
  b: `i % 2 = 0`,
  s: `['', 'a,b', 'quote"d', 'ünïcødé ✓', 'line' || chr(10) || 'break'][i % 5 + 1]`,
  bl: `('\\x00\\xFF' || i::VARCHAR)::BLOB`,
  d: `DATE '1969-12-31' + (i * 37)::INTEGER`,
  t: `TIME '23:59:59.999999' - INTERVAL (i) SECOND`,
  tns: `TIME_NS '01:02:03.123456789'`,
  ts: `TIMESTAMP '1900-01-01 00:00:00.123456' + INTERVAL (i) DAY`,
  tsn: `TIMESTAMP_NS '2200-01-01 00:00:00.123456789' - INTERVAL (i) MINUTE`,
  tms: `TIMESTAMP_MS '2020-01-01 00:00:00.123'`,
  tss: `TIMESTAMP_S '2020-01-01 00:00:01'`,
  tz: `TIMESTAMPTZ '2020-01-01 00:00:00.5+00' + INTERVAL (i) HOUR`,
  dec: `(i / 7)::DECIMAL(10,3)`,
  dec38: `(-i * 1234567.891)::DECIMAL(38,10)`,
  li: `[[i, NULL, -1], [], NULL][i % 3 + 1]::INTEGER[]`,
  arr: `[i::FLOAT, 2.5::FLOAT]`,
  st: `{'a': i, 'b': CASE WHEN i % 2 = 0 THEN 'z' END, 'c': [DATE '2020-01-01']}`,
  mp: `MAP {'k': i, 'm': -i}`,
  uu: `uuid()`,
};

function duckInputSql(first: number, file: string): string {
  const cols = Object.entries(DUCK_COLUMNS)
    .map(([name, expr]) => `CASE WHEN i % 11 = 5 THEN NULL ELSE ${expr} END AS ${name}`)
    .join(',\n  ');
  return `COPY (SELECT i::BIGINT AS customer_id, ['EU', 'US', 'APAC'][i % 3 + 1] AS region,
    (18 + i % 60)::DOUBLE AS age, (20000 + (i * 37) % 80000)::DOUBLE AS income,
    (300 + (i * 13) % 550)::DOUBLE AS credit, (1000 + (i * 7) % 40000)::DOUBLE AS loan,
  ${cols}
  FROM range(${first}, ${first + ROWS / 2}) r(i)) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 500)`;
}

function jobYaml(passthrough: string[], partitionBy: string[]): string {
  return `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: types}
spec:
  input: {uri: "in/", format: parquet}
  model:
    uri: "${CREDIT_MODEL}"
    version: v3
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs:
      - {name: probabilities, index: 1, column: default_probability}
      - {name: probabilities, column: probs}
  output:
    uri: "out/"
    passthrough: [${passthrough.join(', ')}]
    partitionBy: [${partitionBy.join(', ')}]
  sharding: {rowsPerShard: 1000}
`;
}

/** The Arrow type of each column of a Parquet file, as batchscore's reader (and pyarrow: ARROW:schema) sees it. */
async function arrowTypes(store: LocalStore, key: string): Promise<Record<string, string>> {
  const pf = await openParquet(store, key);
  try {
    for await (const t of streamParquet(pf, { rowGroups: [0], batchSize: 1 }))
      return Object.fromEntries(t.schema.fields.map((f) => [f.name, String(f.type)]));
    return {};
  } finally {
    pf.free();
  }
}

async function run(dir: string, passthrough: string[], partitionBy: string[]) {
  await writeFile(path.join(dir, 'job.yaml'), jobYaml(passthrough, partitionBy));
  const r = await runCli(['run', 'job.yaml', '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const out = new LocalStore(path.join(dir, 'out'));
  const m = await readManifest(out, DATE);
  expect(m.record_count).toBe(ROWS);
  return { out, m, glob: `${dir}/out/${runDir({ batchDate: DATE, modelVersion: 'v3' })}**/*.parquet` };
}

describe.each([
  ['without partitionBy', [] as string[]],
  ['with partitionBy (every batch holds three partition values)', ['region']],
])('types from DuckDB-written Parquet, %s', (_name, partitionBy) => {
  const typed = Object.keys(DUCK_COLUMNS);
  const passthrough = ['customer_id', 'region', 'src', ...typed];

  it('come out with the types and values DuckDB and polars read in the input', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-types-'));
    // A hive folder of Hive's null: its files' `src` is null, not "".
    await mkdir(path.join(dir, 'in', 'src=__HIVE_DEFAULT_PARTITION__'), { recursive: true });
    await mkdir(path.join(dir, 'in', 'src=web'), { recursive: true });
    await duckdb(duckInputSql(0, `${dir}/in/src=__HIVE_DEFAULT_PARTITION__/a.parquet`));
    await duckdb(duckInputSql(ROWS / 2, `${dir}/in/src=web/b.parquet`));
    const { out, m, glob } = await run(dir, passthrough, partitionBy);
    const input = `read_parquet('${dir}/in/**/*.parquet', hive_partitioning = true)`;
    const output = `read_parquet('${glob}', hive_partitioning = true, union_by_name = true)`;

    // Same DuckDB types, column by column (a partition folder reads back as the string it was).
    const types = async (from: string) =>
      Object.fromEntries(
        (await duckdb(`DESCRIBE SELECT * FROM ${from}`)).map((r) => [r.column_name, r.column_type]),
      ) as Record<string, string>;
    const [tin, tout] = [await types(input), await types(output)];
    const same = passthrough.filter((c) => c !== 'uu');
    for (const c of same) expect([c, tout[c]]).toEqual([c, tin[c]]);
    expect(tout.probs).toBe('FLOAT[]');
    // The one loss: Parquet's UUID annotation, which the Parquet decoder does not carry (its Arrow type,
    // fixed_size_binary[16], and its bytes are kept).
    expect([tin.uu, tout.uu]).toEqual(['UUID', 'BLOB']);

    // Same values, row by row, nulls and NaN included.
    const differ = [
      ...same
        .filter((c) => c !== 'customer_id')
        .map((c) => `sum((i.${c} IS DISTINCT FROM o.${c})::INTEGER)::INTEGER AS ${c}`),
      `sum((replace(i.uu::VARCHAR, '-', '') IS DISTINCT FROM lower(hex(o.uu)))::INTEGER)::INTEGER AS uu`,
    ].join(', ');
    const [diff] = await duckdb(
      `SELECT count(*)::INTEGER AS n, ${differ} FROM ${input} i JOIN ${output} o USING (customer_id)`,
    );
    expect(diff).toEqual({
      n: ROWS,
      ...Object.fromEntries(passthrough.filter((c) => c !== 'customer_id').map((c) => [c, 0])),
    });
    expect(await duckdb(`SELECT count(*)::INTEGER AS n FROM ${input} WHERE src IS NULL`)).toEqual([{ n: ROWS / 2 }]);

    // The whole-row prediction is the model's two probabilities, of which default_probability is the second.
    const [probs] = await duckdb(
      `SELECT count(*)::INTEGER AS n, sum((len(probs) = 2 AND NOT isnan(probs[1]) AND probs[2] = default_probability
           AND abs(probs[1] + probs[2] - 1) < 1e-6)::INTEGER)::INTEGER AS ok FROM ${output}`,
    );
    expect(probs).toEqual({ n: ROWS, ok: ROWS });

    // polars, compared inside polars (nodejs-polars cannot hand binary values to JS, and cannot read DuckDB's maps).
    const cols = passthrough.filter((c) => !['uu', 'mp'].includes(c));
    const pin = pl
      .scanParquet(`${dir}/in/**/*.parquet`, { hivePartitioning: true })
      .select(...cols)
      .sort('customer_id');
    const pout = pl
      .scanParquet(glob, { hivePartitioning: true })
      .select(...cols)
      .sort('customer_id');
    const [a, b] = [pin.collectSync(), pout.collectSync()];
    // (nodejs-polars names no binary dtype to JS: such a column is compared by frameEqual alone)
    const dtype = (df: pl.DataFrame, c: string) => {
      try {
        return String(df.getColumn(c).dtype);
      } catch {
        return 'not shown';
      }
    };
    for (const c of cols) expect([c, dtype(b, c)]).toEqual([c, dtype(a, c)]);
    expect(a.frameEqual(b, true)).toBe(true);

    // The Arrow types as batchscore's own reader gives them (what pyarrow reads too).
    const inTypes = await arrowTypes(new LocalStore(path.join(dir, 'in')), 'src=web/b.parquet');
    const outTypes = await arrowTypes(out, runDir({ batchDate: DATE, modelVersion: 'v3' }) + m.files[0]!.path);
    for (const c of typed) expect([c, outTypes[c]]).toEqual([c, inTypes[c]]);
  });
});

/** Writes a table as the Parquet writer stores it, Arrow types and all (as pyarrow would: with ARROW:schema). */
function rawParquet(t: arrow.Table, groupRows: number): Uint8Array {
  const pw = parquetWasm();
  const props = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(groupRows).build();
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(t, 'stream')), props);
}

const vec = (type: arrow.DataType, data: ArrayLike<number | bigint>, nulls?: Uint8Array) =>
  arrow.makeVector(
    arrow.makeData({
      type,
      length: data.length,
      nullCount: nulls ? -1 : 0,
      data: data as never,
      ...(nulls ? { nullBitmap: nulls } : {}),
    } as never),
  );

/** Every fifth row null. */
function someNulls(n: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) if (i % 5 !== 3) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/** Columns of the Arrow types only Arrow-aware writers (pyarrow, arrow-rs) put in Parquet. */
function arrowTypedFile(first: number, n: number, mixedAsDictionary: boolean): arrow.Table {
  const ids = Array.from({ length: n }, (_, i) => first + i);
  const nulls = someNulls(n);
  const dict = (values: string[]) =>
    arrow.vectorFromArray(
      ids.map((i) => values[i % values.length]!),
      new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
    );
  const mixed = ids.map((i) => `m${i % 4}`);
  const t = new arrow.Table({
    customer_id: arrow.makeVector(BigInt64Array.from(ids, BigInt)),
    region: arrow.vectorFromArray(
      ids.map((i) => ['EU', 'US', 'APAC'][i % 3]!),
      new arrow.Utf8(),
    ),
    age: arrow.makeVector(Float64Array.from(ids, (i) => 18 + (i % 60))),
    income: arrow.makeVector(Float64Array.from(ids, (i) => 20_000 + ((i * 37) % 80_000))),
    credit: arrow.makeVector(Float64Array.from(ids, (i) => 300 + ((i * 13) % 550))),
    loan: arrow.makeVector(Float64Array.from(ids, (i) => 1_000 + ((i * 7) % 40_000))),
    d64: vec(
      new arrow.DateMillisecond(),
      BigInt64Array.from(ids, (i) => BigInt(i - 1000) * 86_400_000n),
      nulls,
    ),
    t32s: vec(
      new arrow.TimeSecond(),
      Int32Array.from(ids, (i) => (i * 97) % 86_400),
      nulls,
    ),
    tss: vec(
      new arrow.Timestamp(arrow.TimeUnit.SECOND, 'UTC'),
      BigInt64Array.from(ids, (i) => BigInt(i) * 1_000_003n - 3_000_000_000n),
    ),
    tsns: vec(
      new arrow.Timestamp(arrow.TimeUnit.NANOSECOND, 'Asia/Tokyo'),
      BigInt64Array.from(ids, (i) => 1_700_000_000_123_456_789n + BigInt(i) * 1_000_000_007n),
    ),
    f16: vec(
      new arrow.Float16(),
      Uint16Array.from(ids, (i) => [0x3c00, 0x7bff, 0x0001, 0x8000, 0x7e00][i % 5]!),
    ),
    lutf8: arrow.vectorFromArray(
      ids.map((i) => (i % 7 === 0 ? null : `large ${i} ✓`)),
      new arrow.LargeUtf8(),
    ),
    lbin: arrow.vectorFromArray(
      ids.map((i) => Uint8Array.from([i & 255, 0, 255])),
      new arrow.LargeBinary(),
    ),
    llist: arrow.vectorFromArray(
      ids.map((i) => (i % 4 === 0 ? null : [i, -i, 2_147_483_647])),
      new arrow.LargeList(new arrow.Field('item', new arrow.Int32(), true)),
    ),
    fsl: arrow.vectorFromArray(
      ids.map((i) => [i / 3, -0]),
      new arrow.FixedSizeList(2, new arrow.Field('item', new arrow.Float32(), true)),
    ),
    dict: dict(first === 0 ? ['a', 'b', 'c'] : ['z', 'y']),
    mixed: mixedAsDictionary
      ? arrow.vectorFromArray(mixed, new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()))
      : arrow.vectorFromArray(mixed, new arrow.Utf8()),
  });
  return withFieldMetadata(t, FIELD_METADATA);
}

/**
 * Field metadata as writers set it: polars keeps an Enum's categories there (without it polars reads the column back
 * as a Categorical), users their column descriptions. (Not an extension type's name, which pyarrow also keeps there:
 * nodejs-polars refuses a file holding an extension type it does not know, input and output alike.)
 */
const FIELD_METADATA: Record<string, Record<string, string>> = {
  dict: { _PL_ENUM_VALUES2: '1;a1;b1;c1;z1;y' },
  lutf8: { description: 'a large string, kept as written' },
  lbin: { origin: 'sensor 7' },
};

function withFieldMetadata(t: arrow.Table, metadata: Record<string, Record<string, string>>): arrow.Table {
  const schema = new arrow.Schema(
    t.schema.fields.map((f) =>
      metadata[f.name] ? f.clone({ metadata: new Map(Object.entries(metadata[f.name]!)) }) : f,
    ),
  );
  return new arrow.Table(
    schema,
    t.batches.map((b) => new arrow.RecordBatch(schema, b.data)),
  );
}

async function fieldMetadata(store: LocalStore, key: string): Promise<Record<string, Record<string, string>>> {
  const pf = await openParquet(store, key);
  try {
    for await (const t of streamParquet(pf, { rowGroups: [0], batchSize: 1 }))
      return Object.fromEntries(
        t.schema.fields.filter((f) => f.metadata.size > 0).map((f) => [f.name, Object.fromEntries(f.metadata)]),
      );
    return {};
  } finally {
    pf.free();
  }
}

describe.each([
  ['without partitionBy', [] as string[]],
  ['with partitionBy', ['region']],
])('Arrow-only types (as pyarrow writes them), %s', (_name, partitionBy) => {
  const typed = ['d64', 't32s', 'tss', 'tsns', 'f16', 'lutf8', 'lbin', 'llist', 'fsl', 'dict', 'mixed'];
  /** What Parquet cannot annotate is stored as pyarrow stores it: the same instants, in a unit Parquet has. */
  const STORED_AS: Record<string, string> = {
    d64: 'Date32<DAY>',
    t32s: 'Time32<MILLISECOND>',
    tss: 'Timestamp<MILLISECOND, UTC>',
    // A dictionary in one file and plain strings in another is published as strings.
    mixed: 'Utf8',
  };

  it('keep their Arrow type (or Parquet’s nearest) and every value', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-arrowtypes-'));
    const input = new LocalStore(path.join(dir, 'in'));
    await input.put('a.parquet', rawParquet(arrowTypedFile(0, ROWS / 2, true), 500));
    await input.put('b.parquet', rawParquet(arrowTypedFile(ROWS / 2, ROWS / 2, false), 500));
    const passthrough = ['customer_id', 'region', ...typed];
    const { out, m, glob } = await run(dir, passthrough, partitionBy);

    const inTypes = await arrowTypes(input, 'a.parquet');
    const outTypes = await arrowTypes(out, runDir({ batchDate: DATE, modelVersion: 'v3' }) + m.files[0]!.path);
    for (const c of typed) expect([c, outTypes[c]]).toEqual([c, STORED_AS[c] ?? inTypes[c]]);
    // Each column's field metadata, as written (was: dropped).
    expect(await fieldMetadata(input, 'a.parquet')).toEqual(FIELD_METADATA);
    expect(await fieldMetadata(out, runDir({ batchDate: DATE, modelVersion: 'v3' }) + m.files[0]!.path)).toEqual(
      FIELD_METADATA,
    );
    expect(m.output.columns.find((c) => c.name === 'dict')!.type).toBe('Dictionary<Int32, Utf8>');

    // Values, as DuckDB reads them: the input's raw integers (no annotation) against the output's dates and times.
    const inp = `read_parquet('${dir}/in/*.parquet', union_by_name = true)`;
    const outp = `read_parquet('${glob}', hive_partitioning = true)`;
    const same = ['tsns', 'f16', 'lutf8', 'lbin', 'llist', 'fsl', 'dict', 'mixed'];
    const checks = [
      ...same.map((c) => `sum((i.${c} IS DISTINCT FROM o.${c})::INTEGER)::INTEGER AS ${c}`),
      `sum((i.d64 IS DISTINCT FROM epoch_ms(o.d64::TIMESTAMP))::INTEGER)::INTEGER AS d64`,
      `sum((i.t32s IS DISTINCT FROM (epoch_us(DATE '1970-01-01' + o.t32s) // 1000000)::INTEGER)::INTEGER)::INTEGER ` +
        `AS t32s`,
      `sum((i.tss IS DISTINCT FROM epoch(o.tss)::BIGINT)::INTEGER)::INTEGER AS tss`,
    ];
    const [diff] = await duckdb(
      `SELECT count(*)::INTEGER AS n, ${checks.join(', ')} FROM ${inp} i JOIN ${outp} o USING (customer_id)`,
    );
    expect(diff).toEqual({ n: ROWS, ...Object.fromEntries(typed.map((c) => [c, 0])) });
    const types = Object.fromEntries(
      (await duckdb(`DESCRIBE SELECT d64, t32s, tss, tsns FROM ${outp}`)).map((r) => [r.column_name, r.column_type]),
    );
    expect(types).toEqual({
      d64: 'DATE',
      t32s: 'TIME',
      tss: 'TIMESTAMP WITH TIME ZONE',
      tsns: 'TIMESTAMP WITH TIME ZONE',
    });
    // DuckDB reads a zoned nanosecond timestamp to the microsecond: polars compares those (and the rest) whole.
    const keep = ['customer_id', 'tsns', 'lutf8', 'llist', 'fsl', 'dict'];
    const pin = pl
      .scanParquet(`${dir}/in/*.parquet`)
      .select(...keep)
      .sort('customer_id')
      .collectSync();
    const pout = pl
      .scanParquet(glob, { hivePartitioning: true })
      .select(...keep)
      .sort('customer_id')
      .collectSync();
    expect(String(pout.getColumn('tsns').dtype)).toBe('DataType(Datetime(ns,Asia/Tokyo))');
    expect(pin.frameEqual(pout, true)).toBe(true);

    const df = pl.scanParquet(glob, { hivePartitioning: true }).select('d64', 't32s', 'tss').collectSync();
    expect(Object.fromEntries(Object.entries(df.schema).map(([k, t]) => [k, String(t)]))).toEqual({
      d64: 'DataType(Date)',
      t32s: 'DataType(Time)',
      tss: 'DataType(Datetime(ms,UTC))',
    });
  });
});

describe('partition columns of other types', () => {
  it('are folders DuckDB and polars read back as the same values', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-ptypes-'));
    await mkdir(path.join(dir, 'in'));
    await duckdb(
      `COPY (SELECT i::BIGINT AS customer_id, (18 + i % 60)::DOUBLE AS age, 50000::DOUBLE AS income,
          500::DOUBLE AS credit, 1000::DOUBLE AS loan, DATE '1969-12-30' + (i % 3)::INTEGER AS d,
          [9007199254740993, -9223372036854775808][i % 2 + 1]::BIGINT AS n,
          CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 3 = 0) END AS flag, ((i % 2) / 8)::DECIMAL(9,3) AS dec
        FROM range(${ROWS}) r(i)) TO '${dir}/in/a.parquet' (FORMAT parquet, ROW_GROUP_SIZE 500)`,
    );
    const cols = ['d', 'n', 'flag', 'dec'];
    const { glob } = await run(dir, ['customer_id', ...cols], cols);
    const outp =
      `read_parquet('${glob}', hive_partitioning = true, ` +
      `hive_types = {'d': 'DATE', 'n': 'BIGINT', 'flag': 'BOOLEAN', 'dec': 'DECIMAL(9,3)'})`;
    const differ = cols.map((c) => `sum((i.${c} IS DISTINCT FROM o.${c})::INTEGER)::INTEGER AS ${c}`).join(', ');
    const [diff] = await duckdb(
      `SELECT count(*)::INTEGER AS n_rows, ${differ} FROM read_parquet('${dir}/in/a.parquet') i ` +
        `JOIN ${outp} o USING (customer_id)`,
    );
    expect(diff).toEqual({ n_rows: ROWS, d: 0, n: 0, flag: 0, dec: 0 });
    // Folders as Hive spells them: the values in full, null as Hive's null.
    const folders = (
      await duckdb(
        `SELECT DISTINCT regexp_extract(filename, 'd=[^/]*/n=[^/]*/flag=[^/]*/dec=[^/]*') AS f ` +
          `FROM read_parquet('${glob}', filename = true) ORDER BY f`,
      )
    ).map((r) => r.f);
    expect(folders).toContain('d=1969-12-30/n=9007199254740993/flag=__HIVE_DEFAULT_PARTITION__/dec=0.000');
    expect(folders).toContain('d=1970-01-01/n=-9223372036854775808/flag=false/dec=0.125');
  });
});

describe('view types (pyarrow writes string_view and binary_view columns with their type)', () => {
  it('are published as string and binary, the same values', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-views-'));
    const input = new LocalStore(path.join(dir, 'in'));
    const fixture = fileURLToPath(new URL('../fixtures/arrow-views/string_view.parquet', import.meta.url));
    await input.put('a.parquet', await readFile(fixture));
    await writeFile(path.join(dir, 'job.yaml'), jobYaml(['customer_id', 'note', 'raw'], []));
    const r = await runCli(['run', 'job.yaml', '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const m = await readManifest(out, DATE);
    // The Parquet reader (parquet-wasm) gives views as their plain types; every reader reads both alike.
    const outTypes = await arrowTypes(out, runDir({ batchDate: DATE, modelVersion: 'v3' }) + m.files[0]!.path);
    expect([outTypes.note, outTypes.raw]).toEqual(['Utf8', 'Binary']);
    const glob = `${dir}/out/${runDir({ batchDate: DATE, modelVersion: 'v3' })}*.parquet`;
    expect(
      await duckdb(
        `SELECT count(*)::INTEGER AS n, sum((i.note IS DISTINCT FROM o.note)::INTEGER)::INTEGER AS note, ` +
          `sum((i.raw IS DISTINCT FROM o.raw)::INTEGER)::INTEGER AS raw ` +
          `FROM read_parquet('${fixture}') i JOIN read_parquet('${glob}') o USING (customer_id)`,
      ),
    ).toEqual([{ n: 6, note: 0, raw: 0 }]);
  });
});
