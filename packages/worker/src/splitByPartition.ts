import * as arrow from 'apache-arrow';
import { partitionPath } from '@batchscore/core';
import { checkPartitionPath } from './checkPartitionPath.js';
import { partitionValue } from './partitionValue.js';
import { takeRows } from './takeRows.js';

/**
 * Splits a batch by the values of the partition columns; each group's table drops those columns (hive style). A
 * group's rows are taken by index (takeRows), so every column keeps its type and exact values.
 */
export function splitByPartition(t: arrow.Table, partitionBy: string[]): { partition: string; table: arrow.Table }[] {
  if (partitionBy.length === 0) return [{ partition: '', table: t }];
  const vecs = partitionBy.map((c) => t.getChild(c)!);
  const groups = new Map<string, { values: (string | null)[]; rows: number[] }>();
  for (let i = 0; i < t.numRows; i++) {
    const values = vecs.map((v, k) => partitionValue(v, partitionBy[k]!, i));
    const k = JSON.stringify(values);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { values, rows: [] }));
    g.rows.push(i);
  }
  const keep = t.select(t.schema.fields.filter((f) => !partitionBy.includes(f.name)).map((f) => f.name));
  const out: { partition: string; table: arrow.Table }[] = [];
  for (const g of groups.values()) {
    const partition = partitionPath(partitionBy, g.values);
    checkPartitionPath(partitionBy, g.values, partition);
    out.push({ partition, table: groups.size === 1 ? keep : takeRows(keep, Int32Array.from(g.rows)) });
  }
  return out;
}
