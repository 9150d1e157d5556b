import { INPUT_DTYPES, type InputDType } from '@batchscore/worker';
/**
 * One drawn case of the generative differential test (test/e2e/generative.test.ts): an input table (its columns'
 * types and cells), how it is laid out in files (format, hive folders, files, row groups, CSV and JSONL quirks),
 * the echo model and its binding, and the job's output layout and sizes. Plain data, so that a shrunk case prints
 * as source (fc.stringify) and becomes a named regression test as it is.
 */

/** The dtypes of model inputs, each with an echo model (y = Identity(x)): test/fixtures/models/echo_<dtype>.onnx. */
export const DTYPES = INPUT_DTYPES;
export type DType = InputDType;

/**
 * A column's type: an Arrow type written to Parquet, or `text` (a CSV field, a JSONL value: its cells are the raw
 * text). `decimal:P:S`, `ts:UNIT` and `ts:UNIT:ZONE` carry their parameters.
 */
export type ColumnType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'bool'
  | `decimal:${number}:${number}`
  | 'dict-float64'
  | 'dict-int64'
  | 'utf8'
  | 'large_utf8'
  | 'dict-utf8'
  | 'binary'
  | 'date32'
  | 'date64'
  | `ts:${'s' | 'ms' | 'us' | 'ns'}`
  | `ts:${'s' | 'ms' | 'us' | 'ns'}:${string}`
  | 'time32ms'
  | 'time64us'
  | 'list-int32'
  | 'large_list-utf8'
  | 'fsl-float32'
  | 'struct'
  | 'text';

/**
 * A cell. Parquet: null, or the value in the type's own terms (an int as bigint, a float as number (a half's
 * value), a decimal as its unscaled bigint, a date32 as days, a date64 as ms, a timestamp or time64 as bigint
 * ticks, time32 as ms, bytes as number[], a list as an array, a struct as {a, b}). CSV: the field's text ('' is an
 * empty field). JSONL: the value's JSON text, or undefined where the key is left out.
 */
export type Cell = null | undefined | boolean | number | bigint | string | Cell[] | { a: Cell; b: Cell };

export interface Column {
  name: string;
  type: ColumnType;
  /** One per row; row r has id r. */
  cells: Cell[];
}

export interface CsvLayout {
  delimiter: ',' | ';' | '\t';
  eol: '\n' | '\r\n' | '\r';
  bom: boolean;
  /** Quote every field (else only those that need it). */
  quoteAll: boolean;
  finalEol: boolean;
  /** Blank lines between some records (readers skip them). */
  blankLines: boolean;
}

export interface JsonLayout {
  /** Spaces after `:` and `,`. */
  spaced: boolean;
  /** Keys in reverse order on odd rows. */
  shuffled: boolean;
  eol: '\n' | '\r\n';
  blankLines: boolean;
}

export interface TestCase {
  format: 'parquet' | 'csv' | 'jsonl';
  /** Every column of the files (the hive column, if any, is not among them); the first is `id` (int64, or text). */
  columns: Column[];
  /** A hive folder level `name=value/` holding each file (null: __HIVE_DEFAULT_PARTITION__), or none. */
  hive: { name: string; values: (string | null)[] } | null;
  /** Rows per file, in order (ids follow on), and which hive value each file's folder has. */
  files: { rows: number; hive: number }[];
  /** echo_all.onnx (every dtype, one column each), or echo_<dtype>.onnx with its columns stacked [N, K]. */
  model: { all: true } | { dtype: DType };
  /** Model input name → the columns it takes (one for echo_all's inputs). */
  bind: Record<string, string[]>;
  /** Each output as one column per element (index), or one fixed-size list column of the whole row. */
  wholeRow: boolean;
  passthrough: string[];
  partitionBy: string[];
  rowsPerShard: number;
  bytesPerShard: number;
  rowsPerPart: number;
  batchSize: number | 'auto';
  rowGroupRows: number;
  /** Parquet: dictionary-encode the pages (the Arrow types stay what `columns` say). */
  dictionaryPages: boolean;
  csv: CsvLayout;
  json: JsonLayout;
}

/** The model inputs of a case with their dtypes, in binding order. */
export function modelInputs(c: Pick<TestCase, 'model' | 'bind'>): { name: string; dtype: DType; columns: string[] }[] {
  return Object.entries(c.bind).map(([name, columns]) => ({
    name,
    dtype: 'all' in c.model ? (name.slice(2) as DType) : c.model.dtype,
    columns,
  }));
}

/** The output column for element j of input `name`'s echo (or its whole row). */
export function outputColumn(name: string, j: number | 'row'): string {
  return `out_${name}_${j}`;
}

/** Whether an input's echo is published one column per element (a string output must be; see the job spec). */
export function perElement(c: Pick<TestCase, 'wholeRow'>, inp: { dtype: DType }): boolean {
  return !c.wholeRow || inp.dtype === 'string';
}
