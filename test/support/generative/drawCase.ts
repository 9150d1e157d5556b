import fc from 'fast-check';
import { DTYPES, type Cell, type Column, type ColumnType, type DType, type TestCase } from './testCase.js';

/**
 * The arbitrary of test cases: schemas, values at every dtype's edges, formats with their quirks, hive folders,
 * partitioning, shard, part and batch sizes. Built with fc.gen, so every draw shrinks towards a small case.
 */
export const testCaseArb: fc.Arbitrary<TestCase> = fc
  .gen()
  .map((g) => drawCase(<T>(arb: fc.Arbitrary<T>) => g(() => arb)));

type Gen = <T>(arb: fc.Arbitrary<T>) => T;

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** Integers at and beside every integer dtype's edges, float16's and float32's exact-integer limits, 2^53. */
const EDGE_INTS: bigint[] = [
  ...new Set(
    [
      0n,
      1n,
      -1n,
      2n,
      2049n,
      65504n,
      65519n,
      65520n,
      16777217n,
      2n ** 53n,
      2n ** 53n + 1n,
      -(2n ** 53n) - 1n,
      2n ** 60n + 2n ** 36n + 1n,
      2n ** 64n,
      -(2n ** 63n) - 1n,
      ...Object.values(INT_RANGES).flatMap(([lo, hi]) => [lo, hi, lo - 1n, hi + 1n]),
    ].map(String),
  ),
].map(BigInt);

const T32 = 2 ** 128 - 2 ** 103;

/** Floats at every float dtype's edges (overflow thresholds, subnormals, ties), the integer dtypes' too, and ±0. */
const EDGE_FLOATS: number[] = [
  0,
  -0,
  0.5,
  -0.5,
  -0.9,
  0.1,
  1.5,
  127.9,
  -128.9,
  255.5,
  65504,
  65519.99,
  65520,
  70000,
  1e39,
  -1e39,
  3.4028234663852886e38,
  T32,
  T32 - 2 ** 75,
  2 ** -14,
  2 ** -24,
  2 ** -25,
  2 ** -149,
  2 ** -150,
  5e-324,
  2.2250738585072014e-308,
  1.7976931348623157e308,
  1 + 2 ** -11 + 2 ** -40,
  2 ** 31,
  -(2 ** 31) - 0.5,
  2 ** 32 - 0.5,
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  1e16,
  1e-7,
  1e-6,
  9999999999,
  1e10,
  123456789.5,
  2584465.25,
  NaN,
  Infinity,
  -Infinity,
];

const ODD_STRINGS = [
  '',
  ' ',
  'a',
  '"',
  '""',
  'a"b',
  '"quoted"',
  '6" screen',
  ',',
  ';',
  '\t',
  '\n',
  'two\nlines',
  '\r\n',
  '\r',
  "'",
  '\\',
  'é',
  'ünïcødé ✓',
  '日本',
  '🙂',
  '=',
  '/',
  '%',
  '%2F',
  'a=b/c',
  '__HIVE_DEFAULT_PARTITION__',
  'null',
  'NULL',
  'NaN',
  'true',
  '42',
  ' 42 ',
  '-0',
  '1e3',
  '#',
  '{}',
  '[1]',
];

const stringArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...ODD_STRINGS), { minLength: 2, maxLength: 3 }).map((parts) => parts.join('')),
  },
);

/** Column names: plain, or anything a Parquet or CSV file allows (never batchscore's own prefix, nor `out_`). */
const nameArb = fc
  .oneof(
    { weight: 2, arbitrary: fc.constantFrom('a', 'b', 'c', 'x1', 'income', 'k') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'Annual Income',
        'income, usd',
        'say "hi"',
        'multi\nline',
        'ünï',
        'a=b/c',
        '%',
        'reason',
        'id2',
        'semi;colon',
        '\ttab',
        'batch_date',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }) },
  )
  .filter((n) => n.trim() !== '' && !n.startsWith('__batchscore_') && !n.startsWith('out_') && n !== 'id');

const NUMERIC_TYPES: ColumnType[] = [
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float16',
  'float32',
  'float64',
  'bool',
  'dict-float64',
  'dict-int64',
];
const STRING_TYPES: ColumnType[] = ['utf8', 'large_utf8', 'dict-utf8'];
const ZONES = ['UTC', '+05:30', 'America/New_York'];
const PAYLOAD_TYPES: ColumnType[] = [
  ...NUMERIC_TYPES,
  ...STRING_TYPES,
  'binary',
  'date32',
  'date64',
  'ts:s',
  'ts:ms',
  'ts:us',
  'ts:ns',
  ...ZONES.map((z) => `ts:us:${z}` as ColumnType),
  'ts:ns:UTC',
  'time32ms',
  'time64us',
  'list-int32',
  'large_list-utf8',
  'fsl-float32',
  'struct',
  'decimal:9:2',
];
/** Types a partition folder can spell. */
export const FOLDER_TYPES = new Set<ColumnType>([
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'utf8',
  'large_utf8',
  'dict-utf8',
  'date32',
  'text',
]);

function decimalType(g: Gen): ColumnType {
  const [p, s] = g(fc.constantFrom([5, 2], [9, 0], [18, 4], [38, 10], [10, 9], [38, 0]));
  return `decimal:${p}:${s}`;
}

/** A cell of `type`, at the edges most of the time. */
function cellOf(g: Gen, type: ColumnType, nullable: boolean): Cell {
  if (nullable && g(fc.integer({ min: 0, max: 9 })) === 0) return null;
  const range = INT_RANGES[type];
  if (range) {
    const [lo, hi] = range;
    return g(
      fc.oneof(fc.constantFrom(...EDGE_INTS.filter((v) => v >= lo && v <= hi)), fc.bigInt({ min: lo, max: hi })),
    );
  }
  if (type === 'dict-int64') return cellOf(g, 'int64', false);
  if (type === 'float64' || type === 'dict-float64') return g(fc.oneof(fc.constantFrom(...EDGE_FLOATS), fc.double()));
  if (type === 'float32') return Math.fround(g(fc.oneof(fc.constantFrom(...EDGE_FLOATS), fc.double())));
  if (type === 'float16') return halfOf(g(fc.integer({ min: 0, max: 0xffff })));
  if (type === 'bool') return g(fc.boolean());
  if (type.startsWith('decimal:')) {
    const [, p, s] = type.split(':').map(Number) as [number, number, number];
    const max = 10n ** BigInt(p) - 1n;
    return g(
      fc.oneof(
        fc.constantFrom(0n, 1n, -1n, max, -max, 10n ** BigInt(s), 5n * 10n ** BigInt(Math.max(0, s - 1))),
        fc.bigInt({ min: -max, max }),
      ),
    );
  }
  if (STRING_TYPES.includes(type)) return g(stringArb);
  if (type === 'binary') return g(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }));
  if (type === 'date32')
    return g(fc.oneof(fc.constantFrom(0, -1, 19_000, -719_162, 2_932_896), fc.integer({ min: -1e6, max: 1e6 })));
  if (type === 'date64') return 86_400_000 * g(fc.integer({ min: -100_000, max: 100_000 }));
  if (type.startsWith('ts:')) {
    const unit = type.split(':')[1]!;
    const span = { s: 10n ** 10n, ms: 10n ** 13n, us: 10n ** 16n, ns: 2n ** 62n }[unit]!;
    return g(fc.oneof(fc.constantFrom(0n, -1n, 1n), fc.bigInt({ min: -span, max: span })));
  }
  if (type === 'time32ms') return g(fc.integer({ min: 0, max: 86_399_999 }));
  if (type === 'time64us') return g(fc.bigInt({ min: 0n, max: 86_399_999_999n }));
  if (type === 'list-int32')
    return g(fc.array(fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { nil: null }), { maxLength: 3 }));
  if (type === 'large_list-utf8') return g(fc.array(fc.option(stringArb, { nil: null }), { maxLength: 3 }));
  if (type === 'fsl-float32') return [Math.fround(g(fc.constantFrom(...EDGE_FLOATS))), Math.fround(g(fc.double()))];
  if (type === 'struct')
    return { a: g(fc.option(fc.integer(), { nil: null })), b: g(fc.option(stringArb, { nil: null })) };
  throw new Error(`no cells for ${type}`);
}

/** The value of a half given its bits. */
export function halfOf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  if (exp === 0) return sign * frac * 2 ** -24;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A number as text: integers as written (huge ones too), floats in several spellings, words that are not numbers. */
function numberTextArb(): fc.Arbitrary<string> {
  const asFloatText = (x: number) =>
    fc.constantFrom(
      Object.is(x, -0) ? '-0.0' : Number.isInteger(x) && Math.abs(x) < 1e21 ? `${x}.0` : String(x),
      x.toExponential(),
      String(x).toUpperCase(),
    );
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...EDGE_INTS).map(String) },
    { weight: 4, arbitrary: fc.constantFrom(...EDGE_FLOATS.filter(Number.isFinite)).chain(asFloatText) },
    { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
    { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).chain(asFloatText) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '-0',
        '+5',
        ' 42 ',
        '007',
        '.5',
        '5.',
        '1e3',
        '1E+2',
        '-0.0',
        '1e400',
        '-1e400',
        '1' + '0'.repeat(400),
        'NaN',
        'Infinity',
        '-Infinity',
        'true',
        'FALSE',
        '0x1F',
        '1_000',
        'abc',
        '',
        '1,5',
      ),
    },
  );
}

/** A JSON value's text for a feature: number tokens (integers exactly as written), strings, booleans, null. */
function jsonCellArb(): fc.Arbitrary<string | undefined> {
  const numberToken = numberTextArb().filter((t) => /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t));
  return fc.oneof(
    { weight: 6, arbitrary: numberToken },
    { weight: 2, arbitrary: numberTextArb().map((t) => JSON.stringify(t)) },
    { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '-0', '[1]', '{"a":1}') },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

function jsonPayloadArb(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 4, arbitrary: stringArb.map((s) => JSON.stringify(s)) },
    { weight: 2, arbitrary: jsonCellArb() },
    { weight: 1, arbitrary: fc.constantFrom('[1, "a", null]', '{"k": [true, 2.5]}', '{"big": 12345678901234567890}') },
  );
}

function drawCase(g: Gen): TestCase {
  const format = g(fc.constantFrom('parquet', 'csv', 'jsonl'));
  const text = format !== 'parquet';
  const useAll = g(fc.integer({ min: 0, max: 3 })) === 0;
  const dtype: DType = g(fc.constantFrom(...DTYPES));
  const nFiles = g(fc.integer({ min: 1, max: 3 }));
  const files = Array.from({ length: nFiles }, () => ({ rows: g(fc.integer({ min: 0, max: 12 })), hive: 0 }));
  if (files.every((f) => f.rows === 0)) files[0]!.rows = g(fc.integer({ min: 0, max: 3 }));
  const rows = files.reduce((s, f) => s + f.rows, 0);

  // Names: unique, id first.
  const names = g(fc.uniqueArray(nameArb, { minLength: 6, maxLength: 6 }));
  let next = 0;
  const columns: Column[] = [];
  const idCells: Cell[] = Array.from({ length: rows }, (_, r) =>
    format === 'parquet' ? BigInt(r) : format === 'csv' ? String(r) : String(r),
  );
  columns.push({ name: 'id', type: text ? 'text' : 'int64', cells: idCells });

  const feature = (forDtype: DType): Column => {
    const name = names[next++]!;
    if (format === 'csv') {
      return { name, type: 'text', cells: Array.from({ length: rows }, () => g(numberTextArb())) };
    }
    if (format === 'jsonl') {
      return { name, type: 'text', cells: Array.from({ length: rows }, () => g(jsonCellArb())) };
    }
    const type: ColumnType =
      forDtype === 'string'
        ? g(fc.constantFrom<ColumnType>(...STRING_TYPES, ...NUMERIC_TYPES, 'decimal:9:2'))
        : g(fc.integer({ min: 0, max: 19 })) === 0
          ? g(fc.constantFrom<ColumnType>(...STRING_TYPES))
          : (g(fc.oneof(fc.constantFrom<ColumnType>(...NUMERIC_TYPES), fc.constant(null))) ?? decimalType(g));
    const nullable = g(fc.boolean());
    return { name, type, cells: Array.from({ length: rows }, () => cellOf(g, type, nullable)) };
  };

  const bind: Record<string, string[]> = {};
  if (useAll) {
    // Every input of echo_all takes one column from a small pool: a column may feed several inputs.
    const pool: Column[] = [];
    const poolSize = g(fc.integer({ min: 1, max: 3 }));
    for (let i = 0; i < poolSize; i++) pool.push(feature(i === 0 ? 'float64' : 'string'));
    columns.push(...pool);
    // Numeric inputs take numeric columns, but for one draw in ten (a string column there is refused).
    const typed = pool.filter((col) => !STRING_TYPES.includes(col.type));
    const numeric = typed.length > 0 ? typed : pool;
    for (const d of DTYPES) {
      const from = d === 'string' || g(fc.integer({ min: 0, max: 9 })) === 0 ? pool : numeric;
      bind[`x_${d}`] = [g(fc.constantFrom(...from)).name];
    }
  } else {
    const k = g(fc.integer({ min: 1, max: 3 }));
    const cols = Array.from({ length: k }, () => feature(dtype));
    columns.push(...cols);
    bind.x = cols.map((c) => c.name);
  }

  // Payload columns that only pass through.
  const nPayload = g(fc.integer({ min: 0, max: 3 }));
  for (let i = 0; i < nPayload; i++) {
    const name = names[next++]!;
    if (format === 'csv') {
      columns.push({ name, type: 'text', cells: Array.from({ length: rows }, () => g(stringArb)) });
    } else if (format === 'jsonl') {
      columns.push({ name, type: 'text', cells: Array.from({ length: rows }, () => g(jsonPayloadArb())) });
    } else {
      const type = g(fc.constantFrom(...PAYLOAD_TYPES));
      const nullable = g(fc.boolean());
      columns.push({ name, type, cells: Array.from({ length: rows }, () => cellOf(g, type, nullable)) });
    }
  }

  // Hive folders above the files, with odd values (Hive's null among them).
  let hive: TestCase['hive'] = null;
  if (g(fc.integer({ min: 0, max: 2 })) === 0 && next < names.length) {
    const values = g(
      fc.uniqueArray(
        fc.oneof(
          stringArb.filter((s) => s !== ''),
          fc.constant(null),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    );
    hive = { name: names[next++]!, values };
    for (const f of files) f.hive = g(fc.integer({ min: 0, max: values.length - 1 }));
    // The hive column may be bound to the string input (which the planner refuses).
    if (!useAll && dtype === 'string' && g(fc.integer({ min: 0, max: 9 })) === 0) bind.x = [...bind.x!, hive.name];
  }

  const all = [...columns.map((c) => c.name), ...(hive ? [hive.name] : [])];
  const passthrough = g(fc.shuffledSubarray(all)).filter((c, i, a) => a.indexOf(c) === i);
  if (!passthrough.includes('id')) passthrough.unshift('id');
  const typeOf = (n: string): ColumnType => (n === hive?.name ? 'utf8' : columns.find((c) => c.name === n)!.type);
  const folderable = passthrough.filter((n) => n !== 'id' && FOLDER_TYPES.has(typeOf(n)));
  const partitionBy =
    folderable.length > 0 ? g(fc.shuffledSubarray(folderable, { maxLength: Math.min(2, folderable.length) })) : [];

  return {
    format,
    columns,
    hive,
    files,
    model: useAll ? { all: true } : { dtype },
    bind,
    wholeRow: g(fc.boolean()),
    passthrough,
    partitionBy,
    rowsPerShard: g(fc.integer({ min: 1, max: 30 })),
    bytesPerShard: g(fc.integer({ min: 32, max: 1024 })),
    rowsPerPart: g(fc.integer({ min: 1, max: 30 })),
    batchSize: g(fc.oneof(fc.constant('auto' as const), fc.integer({ min: 1, max: 7 }))),
    rowGroupRows: g(fc.integer({ min: 1, max: 8 })),
    dictionaryPages: g(fc.boolean()),
    csv: {
      delimiter: g(fc.constantFrom(',', ';', '\t')),
      eol: g(fc.constantFrom('\n', '\r\n', '\r')),
      bom: g(fc.boolean()),
      quoteAll: g(fc.boolean()),
      finalEol: g(fc.boolean()),
      blankLines: g(fc.boolean()),
    },
    json: {
      spaced: g(fc.boolean()),
      shuffled: g(fc.boolean()),
      eol: g(fc.constantFrom('\n', '\r\n')),
      blankLines: g(fc.boolean()),
    },
  };
}
