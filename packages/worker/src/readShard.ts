import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  csvDelimiter,
  openParquet,
  streamParquet,
  type InputFile,
  type ObjectStore,
  numericColumns,
  readColumns,
  type Shard,
  type ShardPlan,
} from '@batchscore/core';
import { TEXT_ISSUE_COLUMN, textIssue } from './findInvalidRows.js';
import { readLines, splitCsvLine } from './readLines.js';

/**
 * Streams a shard as Arrow tables of at most `batchSize` rows, holding only the columns the job reads:
 * model features, columns with a validation range and passthrough columns (hive partition values filled in as
 * strings). A CSV/JSONL value that is not a number reads as NaN with its reason in TEXT_ISSUE_COLUMN.
 */
export async function* readShard(plan: ShardPlan, shard: Shard, inputStore: ObjectStore, batchSize: number): AsyncGenerator<arrow.Table> {
  const features = numericColumns(plan.job);
  const needed = readColumns(plan.job);
  for (const piece of shard.pieces) {
    const file = plan.files[piece.file]!;
    const hiveCols = needed.filter((c) => c in file.partitionValues);
    const fileCols = needed.filter((c) => !(c in file.partitionValues));
    let batches: AsyncGenerator<arrow.Table>;
    if ('rowGroupStart' in piece) {
      batches = readParquetPiece(inputStore, file, piece.rowGroupStart, piece.rowGroupEnd, fileCols, batchSize);
    } else if (plan.format === 'csv') {
      batches = readCsvPiece(inputStore, file, piece.byteStart, piece.byteEnd, fileCols, features, csvDelimiter(file.key, plan.job.spec.input.csv.delimiter), batchSize);
    } else {
      batches = readJsonlPiece(inputStore, file, piece.byteStart, piece.byteEnd, fileCols, features, batchSize);
    }
    for await (const t of batches) yield withHive(normalize(t), file, hiveCols);
  }
}

async function* readParquetPiece(store: ObjectStore, file: InputFile, rg0: number, rg1: number, cols: string[], batchSize: number) {
  const rowGroups = Array.from({ length: rg1 - rg0 }, (_, i) => rg0 + i);
  const pf = await openParquet(store, file.key, rowGroups);
  try {
    try {
      yield* streamParquet(pf, { rowGroups, columns: cols, batchSize, where: `${store.uriOf(file.key)}: row groups ${rg0}-${rg1 - 1}` });
    } catch (err) {
      if (err instanceof BatchscoreError) throw err;
      const why = String((err as Error)?.message ?? err).split('\n')[0]!;
      throw new BatchscoreError('INPUT_INVALID', `${store.uriOf(file.key)}: cannot read row groups ${rg0}-${rg1 - 1} (${why})`, { cause: err });
    }
  } finally {
    pf.free();
  }
}

/** Dictionary-encoded strings become plain strings, so parts from every shard share one schema. */
function normalize(t: arrow.Table): arrow.Table {
  if (!t.schema.fields.some((f) => arrow.DataType.isDictionary(f.type))) return t;
  const cols: Record<string, arrow.Vector> = {};
  for (const f of t.schema.fields) {
    const v = t.getChild(f.name)!;
    cols[f.name] = arrow.DataType.isDictionary(f.type)
      ? arrow.vectorFromArray(Array.from({ length: v.length }, (_, i) => v.get(i)), (f.type as arrow.Dictionary).dictionary)
      : v;
  }
  return new arrow.Table(cols);
}

function withHive(t: arrow.Table, file: InputFile, hiveCols: string[]): arrow.Table {
  if (hiveCols.length === 0) return t;
  const cols: Record<string, arrow.Vector> = {};
  for (const f of t.schema.fields) cols[f.name] = t.getChild(f.name)!;
  for (const c of hiveCols) cols[c] = arrow.vectorFromArray(new Array<string>(t.numRows).fill(file.partitionValues[c]!), new arrow.Utf8());
  return new arrow.Table(cols);
}

class TextBatch {
  num: Map<string, Float64Array> = new Map();
  str: Map<string, (string | null)[]> = new Map();
  /** Per row: the values that could not be read as numbers, or undefined. */
  issues: (string | undefined)[] = [];
  n = 0;
  constructor(
    private readonly cols: string[],
    private readonly features: string[],
    private readonly size: number,
  ) {
    this.reset();
  }
  reset() {
    this.n = 0;
    this.issues = [];
    for (const c of this.cols) {
      if (this.features.includes(c)) this.num.set(c, new Float64Array(this.size));
      else this.str.set(c, []);
    }
  }
  get full() {
    return this.n >= this.size;
  }
  take(): arrow.Table {
    const cols: Record<string, arrow.Vector> = {};
    for (const c of this.cols) {
      const nums = this.num.get(c);
      cols[c] = nums ? arrow.makeVector(nums.subarray(0, this.n)) : arrow.vectorFromArray(this.str.get(c)!, new arrow.Utf8());
    }
    if (this.issues.length > 0) {
      cols[TEXT_ISSUE_COLUMN] = arrow.vectorFromArray(Array.from({ length: this.n }, (_, i) => this.issues[i] ?? null), new arrow.Utf8());
    }
    const t = new arrow.Table(cols);
    this.reset();
    return t;
  }
}

/**
 * Decimal number syntax only, optionally signed, with an exponent and surrounding blanks; "NaN" and "Infinity"
 * spelled out read as such (validation then quarantines them by kind). Number() alone would also take "0x1F4"
 * as 500, "0b101" and "0o17", scoring a value no one wrote.
 */
const DECIMAL_NUMBER = /^\s*(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]?Infinity)\s*$/;

/**
 * A text value as a number; one that is not (empty, null, missing, words, hex) is NaN, and the reason goes to the
 * row's issues so the row is quarantined with its raw value.
 */
function toNumber(raw: unknown, batch: TextBatch, col: string): number {
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' && DECIMAL_NUMBER.test(raw) ? Number(raw) : NaN;
  if (Number.isNaN(v) && !(typeof raw === 'string' && raw.trim() === 'NaN')) {
    const issue =
      raw === undefined
        ? textIssue(col, 'missing', `${col} is missing`)
        : raw === null || raw === ''
          ? textIssue(col, 'null', `${col} is ${raw === null ? 'null' : 'empty'}`)
          : textIssue(col, 'not_a_number', `${col} ${JSON.stringify(raw).slice(0, 80)} is not a number`);
    const prev = batch.issues[batch.n];
    batch.issues[batch.n] = prev ? `${prev}\n${issue}` : issue;
  }
  return v;
}

async function* readCsvPiece(store: ObjectStore, file: InputFile, start: number, end: number, cols: string[], features: string[], delim: string, batchSize: number) {
  const header = file.header!;
  const idx = cols.map((c) => header.indexOf(c));
  const batch = new TextBatch(cols, features, batchSize);
  for await (const [line, offset] of readLines(store, file.key, file.size, start, end)) {
    if (offset === 0 || line.trim() === '') continue; // header, blank lines
    const fields = splitCsvLine(line, delim);
    const where = () => `${store.uriOf(file.key)} at byte ${offset}`;
    if (fields.length !== header.length) {
      throw new BatchscoreError('INPUT_INVALID', `${where()}: ${fields.length} fields, but the header has ${header.length}`);
    }
    cols.forEach((c, j) => {
      const raw = fields[idx[j]!]!;
      const nums = batch.num.get(c);
      if (nums) nums[batch.n] = toNumber(raw, batch, c);
      else batch.str.get(c)!.push(raw);
    });
    batch.n++;
    if (batch.full) yield batch.take();
  }
  if (batch.n > 0) yield batch.take();
}

async function* readJsonlPiece(store: ObjectStore, file: InputFile, start: number, end: number, cols: string[], features: string[], batchSize: number) {
  const batch = new TextBatch(cols, features, batchSize);
  for await (const [line, offset] of readLines(store, file.key, file.size, start, end)) {
    if (line.trim() === '') continue;
    const where = () => `${store.uriOf(file.key)} at byte ${offset}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (err) {
      throw new BatchscoreError('INPUT_INVALID', `${where()}: not a JSON line (${(err as Error).message})`);
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw new BatchscoreError('INPUT_INVALID', `${where()}: expected a JSON object per line`);
    const o = rec as Record<string, unknown>;
    for (const c of cols) {
      const nums = batch.num.get(c);
      if (nums) {
        nums[batch.n] = toNumber(o[c], batch, c);
      } else {
        const v = o[c];
        batch.str.get(c)!.push(v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));
      }
    }
    batch.n++;
    if (batch.full) yield batch.take();
  }
  if (batch.n > 0) yield batch.take();
}
