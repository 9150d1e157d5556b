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
