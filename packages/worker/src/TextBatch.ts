import * as arrow from 'apache-arrow';
import { addExactInt, EXACT_INTS_COLUMN } from './exactInts.js';
import { addTextIssue, TEXT_ISSUE_COLUMN, textIssue } from './findInvalidRows.js';
import { rawJsonNumber } from './rawJsonNumber.js';
import { spellFloat } from './spellValues.js';
import { textColumnOf } from './textColumnOf.js';

/**
 * Decimal number syntax only, optionally signed, with an exponent and surrounding blanks; "NaN" and "Infinity"
 * spelled out read as such (validation then quarantines them by kind). Number() alone would also take "0x1F4"
 * as 500, "0b101" and "0o17", scoring a value no one wrote.
 */
const DECIMAL_NUMBER = /^\s*(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]?Infinity)\s*$/;
/**
 * An integer as written: read exactly, past 2^53 too, as pandas and pyarrow read a column of them (int64, or
 * uint64); "1.0" and "1e3" are floats, read as doubles, as they read them.
 */
const INTEGER = /^\s*[+-]?\d+\s*$/;
/** Booleans as pandas and Spark write them to CSV (JSON's true/false arrive as booleans): 1 and 0, as in Parquet. */
const BOOLEAN = /^\s*(?:true|false)\s*$/i;
const TWO_53 = 2 ** 53;

/**
 * One batch of rows from a text reader (CSV, JSONL), column by column: numeric columns (the features a numeric
 * model input takes, and columns with a validation range) as doubles, with integers past 2^53 also kept exactly
 * (EXACT_INTS_COLUMN); the others as strings. A value that is not a number reads as NaN with its reason in
 * TEXT_ISSUE_COLUMN, so the row is quarantined with its raw text.
 */
export class TextBatch {
  num: Map<string, Float64Array> = new Map();
  str: Map<string, (string | null)[]> = new Map();
  /** The text of numeric columns in `keepText`. */
  text: Map<string, (string | null)[]> = new Map();
  /** Per row: the values that could not be read as numbers, or undefined. */
  issues: (string | undefined)[] = [];
  /** Per row: its integers past 2^53, or undefined. */
  exact: (string | undefined)[] = [];
  n = 0;
  constructor(
    private readonly cols: string[],
    private readonly features: string[],
    private readonly size: number,
    /** Numeric columns whose text is kept too (textColumnOf). */
    private readonly keepText: readonly string[] = [],
  ) {
    this.reset();
  }
  reset() {
    this.n = 0;
    this.issues = [];
    this.exact = [];
    for (const c of this.cols) {
      if (this.features.includes(c)) this.num.set(c, new Float64Array(this.size));
      else this.str.set(c, []);
      if (this.features.includes(c) && this.keepText.includes(c)) this.text.set(c, []);
    }
  }
  get full() {
    return this.n >= this.size;
  }

  /** A text value (a CSV field, a JSON string) for column `col` of the current row. */
  setText(col: string, raw: string | undefined | null): void {
    const nums = this.num.get(col);
    if (nums) {
      nums[this.n] = this.toNumber(raw, col);
      this.text.get(col)?.push(raw ?? null);
    } else this.str.get(col)!.push(raw ?? null);
  }

  /** A parsed JSON value for column `col` of the current row; `line` is the JSON text it came from. */
  setJson(col: string, v: unknown, line: string): void {
    const nums = this.num.get(col);
    if (nums) {
      nums[this.n] = typeof v === 'number' ? this.jsonNumber(v, col, line) : this.toNumber(v, col);
      this.text.get(col)?.push(jsonAsText(v, col, line));
      return;
    }
    this.str.get(col)!.push(jsonAsText(v, col, line));
  }

  take(): arrow.Table {
    const cols: Record<string, arrow.Vector> = {};
    for (const c of this.cols) {
      const nums = this.num.get(c);
      cols[c] = nums
        ? arrow.makeVector(nums.subarray(0, this.n))
        : arrow.vectorFromArray(this.str.get(c)!, new arrow.Utf8());
    }
    for (const [c, texts] of this.text) cols[textColumnOf(c)] = arrow.vectorFromArray(texts, new arrow.Utf8());
    const rowsOf = (per: (string | undefined)[]) => Array.from({ length: this.n }, (_, i) => per[i] ?? null);
    if (this.issues.length > 0) cols[TEXT_ISSUE_COLUMN] = arrow.vectorFromArray(rowsOf(this.issues), new arrow.Utf8());
    if (this.exact.length > 0) cols[EXACT_INTS_COLUMN] = arrow.vectorFromArray(rowsOf(this.exact), new arrow.Utf8());
    const t = new arrow.Table(cols);
    this.reset();
    return t;
  }

  /**
   * A JSON number as its token reads: JSON.parse's double, except where the double is not what was written (an
   * integer past 2^53, "-0", an overflow to infinity), which is read again from the token.
   */
  private jsonNumber(v: number, col: string, line: string): number {
    if (Number.isFinite(v) && !(Number.isInteger(v) && (Math.abs(v) >= TWO_53 || Object.is(v, -0)))) return v;
    return this.toNumber(rawJsonNumber(line, col) ?? String(v), col);
  }

  /**
   * A value as a number; one that is not (empty, null, missing, words, hex) is NaN, and the reason goes to the
   * row's issues so the row is quarantined with its raw value.
   */
  private toNumber(raw: unknown, col: string): number {
    if (typeof raw === 'number') return raw;
    if (typeof raw === 'boolean') return Number(raw);
    if (typeof raw === 'string' && INTEGER.test(raw)) {
      const v = Number(raw);
      // "-0" is the integer 0: a float input gets +0, as numpy casts the int 0.
      // Below 2^53 the double is the integer; at 2^53 it may be 2^53 + 1 rounded.
      if (Math.abs(v) < TWO_53) return v === 0 ? 0 : v;
      if (!Number.isFinite(v)) return this.unrepresentable(raw, col);
      this.exact[this.n] = addExactInt(this.exact[this.n], col, BigInt(raw.trim().replace(/^\+/, '')));
      return v;
    }
    if (typeof raw === 'string' && DECIMAL_NUMBER.test(raw)) {
      const v = Number(raw);
      // "NaN" and "Infinity" read as themselves (validation quarantines them by kind); a finite number past
      // float64's range has no double.
      if (!Number.isFinite(v) && !/Infinity|NaN/.test(raw)) return this.unrepresentable(raw, col);
      return v;
    }
    if (typeof raw === 'string' && BOOLEAN.test(raw)) return Number(raw.trim().toLowerCase() === 'true');
    if (typeof raw === 'string' && raw.trim() === 'NaN') return NaN;
    const issue =
      raw === undefined
        ? textIssue(col, 'missing', `${col} is missing`)
        : raw === null || raw === ''
          ? textIssue(col, 'null', `${col} is ${raw === null ? 'null' : 'empty'}`)
          : textIssue(col, 'not_a_number', `${col} ${JSON.stringify(raw).slice(0, 80)} is not a number`);
    this.issues[this.n] = addTextIssue(this.issues[this.n], issue);
    return NaN;
  }

  /** A number written finite that no double holds (1e400): NaN here, quarantined with its text. */
  private unrepresentable(raw: string, col: string): number {
    const issue = textIssue(
      col,
      'unrepresentable',
      `${col} ${JSON.stringify(raw.trim()).slice(0, 80)} is not representable as float64`,
    );
    this.issues[this.n] = addTextIssue(this.issues[this.n], issue);
    return NaN;
  }
}

/** A JSON value as text: a string as it is, a number as pyarrow spells its token's type, anything else as JSON. */
function jsonAsText(v: unknown, col: string, line: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  return typeof v === 'number' ? spellJsonNumber(v, col, line) : JSON.stringify(v);
}

/**
 * A JSON number for a string input (a tensor(string) category), spelled as pyarrow's cast spells the type its
 * token reads as: an integer's digits, a float's shortest digits in Arrow's layout ("1e+16", "0.1", "1").
 */
function spellJsonNumber(v: number, col: string, line: string): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e10 && !Object.is(v, -0)) return String(v);
  const raw = rawJsonNumber(line, col);
  if (raw !== undefined && INTEGER.test(raw)) return BigInt(raw).toString();
  return spellFloat(v, 64);
}
