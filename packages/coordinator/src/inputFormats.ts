import type { InputFormat } from '@batchscore/core';

const EXTENSIONS: Record<InputFormat, RegExp> = {
  parquet: /\.(parquet|parq|pq)$/i,
  csv: /\.(csv|tsv)$/i,
  jsonl: /\.(jsonl|ndjson|json)$/i,
};

/** Spark and Hive leave `_SUCCESS`, `_committed_*` and `.crc` files beside data; they are never input. */
export function isDataKey(key: string, format: InputFormat): boolean {
  const segs = key.split('/');
  if (segs.some((s) => s.startsWith('_') && !s.includes('=')) || segs.some((s) => s.startsWith('.'))) return false;
  return EXTENSIONS[format].test(key);
}
