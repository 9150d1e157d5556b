import * as arrow from 'apache-arrow';
import { toParquetBytes, type ObjectStore } from '@batchscore/core';
import { makeCustomers } from '../../packages/cli/src/demo/makeCustomers.js';

export { makeCustomers };

/**
 * Writes `rows` customers as Parquet files of `fileRows` rows and `groupRows`-row groups under `prefix`
 * (customer ids are firstId.. across files). Returns the keys and every row written, in order.
 */
export async function writeCustomers(
  store: ObjectStore,
  prefix: string,
  rows: number,
  fileRows: number,
  groupRows: number,
  firstId = 0,
): Promise<{ keys: string[]; table: arrow.Table }> {
  const keys: string[] = [];
  const batches: arrow.RecordBatch[] = [];
  for (let first = 0, f = 0; first < rows; first += fileRows, f++) {
    const key = `${prefix}part-${String(f).padStart(3, '0')}.parquet`;
    const t = makeCustomers(Math.min(fileRows, rows - first), firstId + first);
    await store.put(key, toParquetBytes(t, undefined, groupRows));
    keys.push(key);
    batches.push(...t.batches);
  }
  return { keys, table: new arrow.Table(batches) };
}

/** The same rows as text: CSV with a header, or JSON lines. */
export function customersAsText(t: arrow.Table, format: 'csv' | 'jsonl'): string {
  const cols = t.schema.fields.map((f) => f.name);
  const vecs = cols.map((c) => t.getChild(c)!);
  const lines: string[] = format === 'csv' ? [cols.join(',')] : [];
  for (let i = 0; i < t.numRows; i++) {
    const vals = vecs.map((v) => v.get(i));
    if (format === 'csv') lines.push(vals.map(String).join(','));
    else
      lines.push(
        JSON.stringify(
          Object.fromEntries(cols.map((c, j) => [c, typeof vals[j] === 'bigint' ? Number(vals[j]) : vals[j]])),
        ),
      );
  }
  return lines.join('\n') + '\n';
}

/**
 * A customer's note for customersAsQuotedCsv: text a CSV writer must quote, and that a reader cutting at line breaks
 * would misread. Line breaks (LF, CRLF, blank lines) inside quotes, doubled quotes, commas, and lines that look like
 * records of the file (`7,1,2,3,4,x`).
 */
export function noteFor(id: number): string {
  switch (id % 4) {
    case 0:
      return `line one of ${id}\nline "two", with a comma`;
    case 1:
      return `${id},1,2,3,4,x\r\n${id + 1},5,6,7,8,"y"\n`;
    case 2:
      return `plain ${id}`;
    default:
      return `"${id}"\n\n\nafter blank lines, ""doubled""`;
  }
}

/**
 * The customers as RFC 4180 CSV, a `note` column last (noteFor: quoted fields that span lines), some ids quoted too
 * ("12"), records ending in LF or CRLF by turns, a blank line here and there: what a parser that reads lines, not
 * records, gets wrong.
 */
export function customersAsQuotedCsv(t: arrow.Table): string {
  const cols = t.schema.fields.map((f) => f.name);
  const vecs = cols.map((c) => t.getChild(c)!);
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  let text = [...cols, 'note'].join(',') + '\n';
  for (let i = 0; i < t.numRows; i++) {
    const vals = vecs.map((v) => String(v.get(i)));
    const id = Number(vals[0]);
    if (id % 5 === 1) vals[0] = quote(vals[0]!);
    text += [...vals, quote(noteFor(id))].join(',') + (i % 2 === 0 ? '\r\n' : '\n');
    if (i % 97 === 13) text += '\n';
  }
  return text;
}

export function jobYaml(o: {
  name?: string;
  input: string;
  format?: string;
  model: string;
  output: string;
  rowsPerShard?: number;
  bytesPerShard?: number;
  passthrough?: string[];
  partitionBy?: string[];
  extra?: string;
  inputs?: string;
  outputs?: string;
}): string {
  return `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: ${o.name ?? 'credit-risk'}}
spec:
  input: {uri: "${o.input}", format: ${o.format ?? 'parquet'}}
  model:
    uri: "${o.model}"
    version: v3
    inputs: ${o.inputs ?? '[{name: features, columns: [age, income, credit, loan]}]'}
    outputs: ${o.outputs ?? '[{name: probabilities, index: 1, column: default_probability}]'}
  output:
    uri: "${o.output}"
    passthrough: [${(o.passthrough ?? ['customer_id']).join(', ')}]
    partitionBy: [${(o.partitionBy ?? []).join(', ')}]
  sharding: {rowsPerShard: ${o.rowsPerShard ?? 250000}${o.bytesPerShard ? `, bytesPerShard: ${o.bytesPerShard}` : ''}}
${o.extra ?? ''}`;
}
