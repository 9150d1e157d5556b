import { SHARD_DIGITS, type ScoringJob } from '@batchscore/core';

/** Shard numbers are SHARD_DIGITS digits in every key, so a run has at most this many shards. */
export const MAX_SHARDS = 10 ** SHARD_DIGITS;

/**
 * Pure: why a plan of `shards` shards cannot run, or undefined. Checked at planning: a plan past the limit used to
 * be written, and then `score --shard 100000` failed with an internal error (a key needing 6 digits).
 */
export function checkShardCount(
  shards: number,
  job: ScoringJob,
  format: 'parquet' | 'csv' | 'jsonl',
): string | undefined {
  if (shards <= MAX_SHARDS) return undefined;
  const scale = shards / MAX_SHARDS;
  const hint =
    format === 'parquet'
      ? `raise spec.sharding.rowsPerShard (now ${job.spec.sharding.rowsPerShard}) to at least ` +
        `${Math.ceil(job.spec.sharding.rowsPerShard * scale)}`
      : `raise spec.sharding.bytesPerShard (now ${job.spec.sharding.bytesPerShard}) to at ` +
        `least ${Math.ceil(job.spec.sharding.bytesPerShard * scale)}`;
  return (
    `the input cuts into ${shards} shards, more than the ${MAX_SHARDS} a run can have ` +
    `(shard numbers have ${SHARD_DIGITS} digits); ${hint}`
  );
}
