/**
 * A numeric column's text as written, beside its numbers, for a column that is also needed as text: passed through
 * (CSV/JSONL values are published as strings), or also taken by a tensor(string) input (which gets it as written).
 * Like TEXT_ISSUE_COLUMN it travels with the batch's rows and is never written out as such.
 */
export function textColumnOf(column: string): string {
  return `__batchscore_text_of:${column}`;
}
