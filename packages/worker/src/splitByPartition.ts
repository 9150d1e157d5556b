import * as arrow from 'apache-arrow';
import { partitionPath } from '@batchscore/core';
import { checkPartitionPath } from './checkPartitionPath.js';

/** Splits a batch by the values of the partition columns; each group's table drops those columns (hive style). */
export function splitByPartition(t: arrow.Table, partitionBy: string[]): { partition: string; table: arrow.Table }[] {
  if (partitionBy.length === 0) return [{ partition: '', table: t }];
  const vecs = partitionBy.map((c) => t.getChild(c)!);
  const keyOf = (i: number) => vecs.map((v) => stringOf(v.get(i)));
  const groups = new Map<string, { values: string[]; rows: number[] }>();
  for (let i = 0; i < t.numRows; i++) {
    const values = keyOf(i);
    const k = JSON.stringify(values);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { values, rows: [] }));
    g.rows.push(i);
  }
  const keep = t.schema.fields.filter((f) => !partitionBy.includes(f.name));
  const out: { partition: string; table: arrow.Table }[] = [];
  for (const g of groups.values()) {
    const cols: Record<string, arrow.Vector> = {};
    for (const f of keep) {
      const v = t.getChild(f.name)!;
      cols[f.name] =
        groups.size === 1
          ? v
          : arrow.vectorFromArray(
              g.rows.map((i) => v.get(i)),
              f.type,
            );
    }
    const partition = partitionPath(partitionBy, g.values);
    checkPartitionPath(partitionBy, g.values, partition);
    out.push({ partition, table: new arrow.Table(cols) });
  }
  return out;
}

function stringOf(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
