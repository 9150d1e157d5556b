import type { InputFormat } from '@batchscore/core';

const EXTENSIONS: Record<InputFormat, RegExp> = {
  parquet: /\.(parquet|parq|pq)$/i,
  csv: /\.(csv|tsv)$/i,
  jsonl: /\.(jsonl|ndjson|json)$/i,
};

/** The extensions each format's files are recognised by, for messages. */
export const EXTENSION_NAMES: Record<InputFormat, string> = {
  parquet: '.parquet, .parq, .pq',
  csv: '.csv, .tsv',
  jsonl: '.jsonl, .ndjson, .json',
};

/** Spark and Hive leave `_SUCCESS`, `_committed_*` and `.crc` files beside data; they are never input. */
function isBookkeeping(key: string): boolean {
  const segs = key.split('/');
  return segs.some((s) => s.startsWith('_') && !s.includes('=')) || segs.some((s) => s.startsWith('.'));
}

export function isDataKey(key: string, format: InputFormat): boolean {
  return !isBookkeeping(key) && EXTENSIONS[format].test(key);
}

/** A file that is not bookkeeping yet not named as the format's: left out, and said so (`b.csv.gz`, `c.txt`). */
export function isSkippedKey(key: string, format: InputFormat): boolean {
  return !isBookkeeping(key) && !EXTENSIONS[format].test(key);
}
