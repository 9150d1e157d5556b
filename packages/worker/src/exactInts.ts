import type * as arrow from 'apache-arrow';

/**
 * Text readers (CSV, JSONL) keep numbers as doubles, which hold every integer only up to 2^53: an integer written
 * past that (an int64 id, 2^63 - 1, a uint64) goes here too, exactly, by row, as JSON [column, digits] pairs (a
 * column may be named anything, tabs and newlines included), so that the cast to the model's dtype (castInto) and
 * its check (findInvalidRows) use the value that was written. Like TEXT_ISSUE_COLUMN it travels with the batch's
 * rows and is never written out.
 */
export const EXACT_INTS_COLUMN = '__batchscore_exact_ints';

/** The batch's exact integers: column → row → value; empty when no row has one (the common case). */
export function exactIntsOf(batch: arrow.Table): Map<string, Map<number, bigint>> {
  const out = new Map<string, Map<number, bigint>>();
  const vec = batch.getChild(EXACT_INTS_COLUMN);
  if (!vec || vec.nullCount === vec.length) return out;
  for (let i = 0; i < vec.length; i++) {
    const v = vec.get(i) as string | null;
    if (v === null) continue;
    for (const [col, digits] of JSON.parse(v) as [string, string][]) {
      let m = out.get(col);
      if (!m) out.set(col, (m = new Map()));
      m.set(i, BigInt(digits));
    }
  }
  return out;
}

/** One row's entry for EXACT_INTS_COLUMN, added to what the row has so far. */
export function addExactInt(prev: string | undefined, column: string, value: bigint): string {
  const pairs = prev ? (JSON.parse(prev) as [string, string][]) : [];
  pairs.push([column, String(value)]);
  return JSON.stringify(pairs);
}
