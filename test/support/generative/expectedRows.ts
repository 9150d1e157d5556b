import { numpyCast, type SourceValue } from '../numpyCast.js';
import { spellDecimalRef, spellFloatRef } from '../pyarrowSpelling.js';
import { modelInputs, outputColumn, perElement, type Cell, type ColumnType, type TestCase } from './testCase.js';

/**
 * Pure: what a run of a case must publish, worked out from the case's own cells by the documented rules
 * (docs/guarantees.md, How values reach the model) with the independent references of numpy's casts
 * (numpyCast.ts) and pyarrow's spelling (pyarrowSpelling.ts): per row, the value every output column holds, or the
 * problems that quarantine it; per row, the text of each passthrough column from CSV/JSONL; per row, each partition
 * folder's value.
 */
export type Problem = 'null' | 'missing' | 'nan' | 'infinite' | 'not_a_number' | 'unrepresentable';

export interface ExpectedRow {
  id: number;
  /** Output column → value (a half as its value; integers as bigint), or the whole row's values. */
  outputs: Record<string, number | bigint | boolean | string | (number | bigint | boolean)[]>;
  /** Column → its problem; the row is quarantined when any. */
  problems: Map<string, Problem>;
  /** Passthrough columns of CSV/JSONL input: their text (null for a JSON null or a missing key). */
  texts: Record<string, string | null>;
  /** Partition column → the value its folder spells (null: __HIVE_DEFAULT_PARTITION__). */
  folders: Record<string, string | null>;
}

/** A cell as read for a numeric input, or why it cannot be. */
type Reading = { value: SourceValue } | { problem: Problem };

const INTEGER = /^[+-]?\d+$/;
const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Text (a CSV field, a JSON string) as a number for a numeric input. */
function readText(raw: string): Reading {
  const s = raw.trim();
  if (raw === '') return { problem: 'null' };
  if (INTEGER.test(s)) {
    const v = BigInt(s);
    // Beyond float64's range an integer has no double to stand in for it in validation.
    return Math.abs(Number(v)) === Infinity ? { problem: 'unrepresentable' } : { value: { int: v } };
  }
  if (DECIMAL.test(s)) {
    const x = Number(s);
    return Number.isFinite(x) ? { value: { float: x } } : { problem: 'unrepresentable' };
  }
  if (s === 'NaN') return { problem: 'nan' };
  if (/^[+-]?Infinity$/.test(s)) return { problem: 'infinite' };
  if (/^(true|false)$/i.test(s)) return { value: { bool: s.toLowerCase() === 'true' } };
  return { problem: 'not_a_number' };
}

/** A JSON value's text as a number for a numeric input (a number token keeps its type: integer or float). */
function readJson(text: string | undefined): Reading {
  if (text === undefined) return { problem: 'missing' };
  if (text === 'null') return { problem: 'null' };
  if (text === 'true' || text === 'false') return { value: { bool: text === 'true' } };
  if (text.startsWith('"')) return readText(JSON.parse(text) as string);
  if (/^-?\d+$/.test(text)) return readText(text);
  if (/^-?\d/.test(text)) return readText(text);
  return { problem: 'not_a_number' };
}

/** A Parquet cell as a number. */
function readTyped(type: ColumnType, v: Cell): Reading {
  if (v === null || v === undefined) return { problem: 'null' };
  if (typeof v === 'bigint') return { value: { int: v } };
  if (typeof v === 'boolean') return { value: { bool: v } };
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { problem: 'nan' };
    if (!Number.isFinite(v)) return { problem: 'infinite' };
    return { value: { float: v } };
  }
  throw new Error(`a ${type} cell is no number: ${String(v)}`);
}

/** The value of a decimal cell: its nearest double (the string reads correctly rounded). */
function decimalValue(type: ColumnType, v: bigint): number {
  const scale = Number(type.split(':')[2]);
  return Number(`${v}e${-scale}`);
}

/** A cell as the text a tensor(string) input gets, or null (quarantined). */
function spell(c: TestCase, type: ColumnType, v: Cell): string | null {
  if (c.format === 'csv') return v as string;
  if (c.format === 'jsonl') return jsonText(v as string | undefined);
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (type.startsWith('decimal:')) return spellDecimalRef(v as bigint, Number(type.split(':')[2]));
  if (typeof v === 'bigint') return v.toString();
  const width = type === 'float32' ? 32 : 64;
  return spellFloatRef(v as number, width);
}

/** A JSON value as text: a string's content, a number token as pyarrow spells its type, anything else as JSON. */
export function jsonText(text: string | undefined): string | null {
  if (text === undefined || text === 'null') return null;
  if (text.startsWith('"')) return JSON.parse(text) as string;
  if (/^-?\d+$/.test(text)) return BigInt(text).toString();
  if (/^-?\d/.test(text)) return spellFloatRef(Number(text), 64);
  return JSON.stringify(JSON.parse(text));
}

function readingOf(c: TestCase, type: ColumnType, v: Cell): Reading {
  if (c.format === 'csv') return readText(v as string);
  if (c.format === 'jsonl') return readJson(v as string | undefined);
  if (type.startsWith('decimal:') && typeof v === 'bigint') return { value: { float: decimalValue(type, v) } };
  return readTyped(type, v);
}

/** Row r's value of column `name` (the hive column included). */
export function cellOf(c: TestCase, name: string, r: number): { type: ColumnType; v: Cell; hive: boolean } {
  if (c.hive && name === c.hive.name) {
    let first = 0;
    for (const f of c.files) {
      if (r < first + f.rows) return { type: 'utf8', v: c.hive.values[f.hive]!, hive: true };
      first += f.rows;
    }
  }
  const col = c.columns.find((x) => x.name === name)!;
  return { type: col.type, v: col.cells[r]!, hive: false };
}

/**
 * The value a partition folder reads back as: null for null, '' and the text __HIVE_DEFAULT_PARTITION__, which
 * Hive's folders cannot tell apart.
 */
function folderValue(c: TestCase, type: ColumnType, v: Cell): string | null {
  const text = c.format === 'jsonl' && type === 'text' ? jsonText(v as string | undefined) : v;
  if (text === null || text === undefined || text === '' || text === HIVE_NULL) return null;
  if (typeof text === 'string') return text;
  if (typeof text === 'bigint') return text.toString();
  if (typeof text === 'boolean') return text ? 'true' : 'false';
  if (type === 'date32') return civil(text as number);
  throw new Error(`no folder spelling for ${type}`);
}

/** YYYY-MM-DD of a day number (proleptic Gregorian, through Date.UTC's own calendar). */
function civil(days: number): string {
  const d = new Date(days * 86_400_000);
  const y = d.getUTCFullYear();
  const year = y < 0 ? `-${String(-y).padStart(4, '0')}` : String(y).padStart(4, '0');
  return `${year}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}

export function expectedRows(c: TestCase): ExpectedRow[] {
  const rows = c.files.reduce((s, f) => s + f.rows, 0);
  const inputs = modelInputs(c);
  const out: ExpectedRow[] = [];
  for (let r = 0; r < rows; r++) {
    const row: ExpectedRow = { id: r, outputs: {}, problems: new Map(), texts: {}, folders: {} };
    const flag = (name: string, p: Problem) => row.problems.set(name, row.problems.get(name) ?? p);
    for (const inp of inputs) {
      const values = inp.columns.map((name) => {
        const { type, v, hive } = cellOf(c, name, r);
        if (inp.dtype === 'string') {
          const s = hive ? (v as string | null) : spell(c, type, v);
          if (s === null) flag(name, 'null');
          return s;
        }
        const reading = readingOf(c, type, v);
        if ('problem' in reading) {
          flag(name, reading.problem);
          return null;
        }
        const cast = numpyCast(reading.value, inp.dtype);
        if ('quarantined' in cast) {
          flag(name, 'unrepresentable');
          return null;
        }
        return cast.value;
      });
      if (perElement(c, inp)) values.forEach((v, j) => v !== null && (row.outputs[outputColumn(inp.name, j)] = v));
      else if (values.every((v) => v !== null)) row.outputs[outputColumn(inp.name, 'row')] = values as never;
    }
    if (c.format !== 'parquet') {
      for (const name of c.passthrough) {
        if (c.partitionBy.includes(name) || (c.hive && name === c.hive.name)) continue;
        const v = cellOf(c, name, r).v;
        row.texts[name] = c.format === 'csv' ? (v as string) : jsonText(v as string | undefined);
      }
    }
    for (const name of c.partitionBy) {
      const { type, v, hive } = cellOf(c, name, r);
      row.folders[name] = hive ? (v as string | null) : folderValue(c, type, v);
    }
    out.push(row);
  }
  return out;
}
