import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { parquetWasm } from '@batchscore/core';
import type { Cell, ColumnType, TestCase } from './testCase.js';

/**
 * Writes a case's input under `dir`: its files in hive folders, as Parquet (arrow-js through parquet-wasm's own
 * writer, Arrow types kept in the file's ARROW:schema as pyarrow keeps them), CSV or JSONL. Returns the files'
 * paths relative to `dir`.
 */
export async function writeInput(dir: string, c: TestCase): Promise<string[]> {
  const written: string[] = [];
  let first = 0;
  for (const [i, f] of c.files.entries()) {
    const folder = c.hive ? `${hiveEscape(c.hive.name)}=${hiveValue(c.hive.values[f.hive]!)}/` : '';
    const ext = c.format === 'parquet' ? 'parquet' : c.format;
    const rel = `${folder}part-${i}.${ext}`;
    await mkdir(path.join(dir, folder), { recursive: true });
    const rows = Array.from({ length: f.rows }, (_, r) => first + r);
    const bytes =
      c.format === 'parquet'
        ? parquetBytes(c, rows)
        : Buffer.from(c.format === 'csv' ? csvText(c, rows) : jsonlText(c, rows));
    await writeFile(path.join(dir, rel), bytes);
    written.push(rel);
    first += f.rows;
  }
  return written;
}

/** A name or value in a folder name, escaped as Hive escapes paths (FileUtils.escapePathName). */
export function hiveEscape(s: string): string {
  return s.replace(
    // eslint-disable-next-line no-control-regex -- Hive escapes control characters
    /[\x01-\x1f"#%'*/:=?\\\x7f{[\]^]/g,
    (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'),
  );
}

function hiveValue(v: string | null): string {
  return v === null ? '__HIVE_DEFAULT_PARTITION__' : hiveEscape(v);
}

function parquetBytes(c: TestCase, rows: number[]): Uint8Array {
  const cols: Record<string, arrow.Vector> = {};
  for (const col of c.columns)
    cols[col.name] = vectorOf(
      col.type,
      rows.map((r) => col.cells[r]!),
    );
  const table = new arrow.Table(cols);
  const pw = parquetWasm();
  const props = new pw.WriterPropertiesBuilder()
    .setMaxRowGroupSize(c.rowGroupRows)
    .setDictionaryEnabled(c.dictionaryPages)
    .build();
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
}

/** A validity bitmap, and the null count, of cells. */
function validity(cells: Cell[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array(Math.ceil(cells.length / 8) || 1);
  let nullCount = 0;
  cells.forEach((v, i) => {
    if (v === null || v === undefined) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

const INT_CTORS: Record<string, [() => arrow.DataType, new (n: number) => ArrayLike<number | bigint>]> = {
  int8: [() => new arrow.Int8(), Int8Array],
  int16: [() => new arrow.Int16(), Int16Array],
  int32: [() => new arrow.Int32(), Int32Array],
  int64: [() => new arrow.Int64(), BigInt64Array],
  uint8: [() => new arrow.Uint8(), Uint8Array],
  uint16: [() => new arrow.Uint16(), Uint16Array],
  uint32: [() => new arrow.Uint32(), Uint32Array],
  uint64: [() => new arrow.Uint64(), BigUint64Array],
};

const TS_UNITS = {
  s: arrow.TimeUnit.SECOND,
  ms: arrow.TimeUnit.MILLISECOND,
  us: arrow.TimeUnit.MICROSECOND,
  ns: arrow.TimeUnit.NANOSECOND,
};

/** A primitive column from its values' typed array, bit for bit. */
function primitive(type: arrow.DataType, data: ArrayLike<number | bigint>, cells: Cell[]): arrow.Vector {
  return arrow.makeVector(arrow.makeData({ type, length: cells.length, data, ...validity(cells) } as never));
}

export function vectorOf(type: ColumnType, cells: Cell[]): arrow.Vector {
  const n = cells.length;
  const ints = INT_CTORS[type];
  if (ints) {
    const [t, Ctor] = ints;
    const data = new Ctor(n) as unknown as (number | bigint)[];
    const big = Ctor === BigInt64Array || Ctor === BigUint64Array;
    cells.forEach((v, i) => (data[i] = v === null ? (big ? 0n : 0) : big ? BigInt(v as bigint) : Number(v)));
    return primitive(t(), data as unknown as ArrayLike<number>, cells);
  }
  switch (type) {
    case 'float16': {
      const data = new Uint16Array(n);
      cells.forEach((v, i) => (data[i] = v === null ? 0 : halfBits(v as number)));
      return primitive(new arrow.Float16(), data, cells);
    }
    case 'float32':
      return primitive(
        new arrow.Float32(),
        Float32Array.from(cells, (v) => (v === null ? 0 : (v as number))),
        cells,
      );
    case 'float64':
      return primitive(
        new arrow.Float64(),
        Float64Array.from(cells, (v) => (v === null ? 0 : (v as number))),
        cells,
      );
    case 'bool':
      return arrow.vectorFromArray(cells as (boolean | null)[], new arrow.Bool());
    case 'dict-float64':
    case 'dict-int64':
    case 'dict-utf8': {
      const valueType = { 'dict-float64': 'float64', 'dict-int64': 'int64', 'dict-utf8': 'utf8' }[type] as ColumnType;
      // Distinct values by their printed form (NaN and -0 kept apart), then indices into them.
      const keys: string[] = [];
      const values: Cell[] = [];
      const index = cells.map((v) => {
        if (v === null) return 0;
        const k = Object.is(v, -0) ? '-0' : String(v);
        let at = keys.indexOf(k);
        if (at < 0) {
          at = keys.push(k) - 1;
          values.push(v);
        }
        return at;
      });
      const dictionary = vectorOf(valueType, values);
      const dictType = new arrow.Dictionary(dictionary.type, new arrow.Int32());
      return arrow.makeVector(
        arrow.makeData({ type: dictType, length: n, data: Int32Array.from(index), dictionary, ...validity(cells) }),
      );
    }
    case 'utf8':
      return arrow.vectorFromArray(cells as (string | null)[], new arrow.Utf8());
    case 'large_utf8':
      return arrow.vectorFromArray(cells as (string | null)[], new arrow.LargeUtf8());
    case 'binary':
      return arrow.vectorFromArray(
        cells.map((v) => (v === null ? null : Uint8Array.from(v as number[]))),
        new arrow.Binary(),
      );
    case 'date32':
      return primitive(
        new arrow.DateDay(),
        Int32Array.from(cells, (v) => (v === null ? 0 : (v as number))),
        cells,
      );
    case 'date64':
      return primitive(
        new arrow.DateMillisecond(),
        BigInt64Array.from(cells, (v) => (v === null ? 0n : BigInt(v as number))),
        cells,
      );
    case 'time32ms':
      return primitive(
        new arrow.TimeMillisecond(),
        Int32Array.from(cells, (v) => (v === null ? 0 : (v as number))),
        cells,
      );
    case 'time64us':
      return primitive(
        new arrow.TimeMicrosecond(),
        BigInt64Array.from(cells, (v) => (v === null ? 0n : (v as bigint))),
        cells,
      );
    case 'list-int32':
      return arrow.vectorFromArray(
        cells as (number | null)[][],
        new arrow.List(new arrow.Field('item', new arrow.Int32(), true)),
      );
    case 'large_list-utf8':
      return arrow.vectorFromArray(
        cells as (string | null)[][],
        new arrow.LargeList(new arrow.Field('item', new arrow.Utf8(), true)),
      );
    case 'fsl-float32':
      return arrow.vectorFromArray(
        cells as number[][],
        new arrow.FixedSizeList(2, new arrow.Field('item', new arrow.Float32(), true)),
      );
    case 'struct':
      return arrow.vectorFromArray(
        cells as never[],
        new arrow.Struct([new arrow.Field('a', new arrow.Int32(), true), new arrow.Field('b', new arrow.Utf8(), true)]),
      );
  }
  if (type.startsWith('ts:')) {
    const [, unit, zone] = type.split(':') as [string, keyof typeof TS_UNITS, string | undefined];
    return primitive(
      new arrow.Timestamp(TS_UNITS[unit], zone ?? null),
      BigInt64Array.from(cells, (v) => (v === null ? 0n : (v as bigint))),
      cells,
    );
  }
  if (type.startsWith('decimal:')) {
    const [, p, s] = type.split(':').map(Number) as [number, number, number];
    const data = new Uint32Array(n * 4);
    cells.forEach((v, i) => {
      let u = BigInt.asUintN(128, v === null ? 0n : (v as bigint));
      for (let w = 0; w < 4; w++, u >>= 32n) data[i * 4 + w] = Number(u & 0xffffffffn);
    });
    return primitive(new arrow.Decimal(s, p, 128), data, cells);
  }
  throw new Error(`no vector for ${type}`);
}

/** The bits of a half whose value is x (cells of float16 columns are exact halves). */
function halfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

function csvField(c: TestCase, s: string): string {
  const { delimiter, quoteAll } = c.csv;
  const needs = s.includes(delimiter) || /["\r\n]/.test(s);
  return quoteAll || needs ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvText(c: TestCase, rows: number[]): string {
  const { eol, bom, finalEol, blankLines } = c.csv;
  const lines = [c.columns.map((col) => csvField(c, col.name)).join(c.csv.delimiter)];
  for (const r of rows) {
    if (blankLines && r % 3 === 1) lines.push('');
    lines.push(c.columns.map((col) => csvField(c, String(col.cells[r] ?? ''))).join(c.csv.delimiter));
  }
  return (bom ? '\uFEFF' : '') + lines.join(eol) + (finalEol ? eol : '');
}

function jsonlText(c: TestCase, rows: number[]): string {
  const { spaced, shuffled, eol, blankLines } = c.json;
  const lines: string[] = [];
  for (const r of rows) {
    if (blankLines && r % 3 === 1) lines.push('');
    const cols = shuffled && r % 2 === 1 ? [...c.columns].reverse() : c.columns;
    const fields = cols
      .filter((col) => col.cells[r] !== undefined)
      .map((col) => `${JSON.stringify(col.name)}:${spaced ? ' ' : ''}${col.cells[r] as string}`);
    lines.push(`{${fields.join(spaced ? ', ' : ',')}}`);
  }
  return lines.map((l) => l + eol).join('');
}
