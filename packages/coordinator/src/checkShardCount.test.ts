import { parseJobSpec } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { MAX_SHARDS, checkShardCount } from './checkShardCount.js';
import { planShards } from './planShards.js';

const job = parseJobSpec(
  `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: j1}
spec:
  input: {uri: "s3://bkt/in/"}
  model: {uri: "s3://bkt/m.onnx", version: v1, inputs: [{name: x, columns: [a]}], outputs: [{name: y, column: score}]}
  output: {uri: "s3://bkt/out/"}
  sharding: {rowsPerShard: 10}
`,
  { baseDir: '/' },
);

describe('checkShardCount', () => {
  it('allows 100,000 shards (00000-99999) and refuses one more, naming the limit and the setting to raise', () => {
    expect(MAX_SHARDS).toBe(100_000);
    expect(checkShardCount(100_000, job, 'parquet')).toBeUndefined();
    expect(checkShardCount(100_001, job, 'parquet')).toBe(
      'the input cuts into 100001 shards, more than the 100000 a run can have (shard numbers ' +
        'have 5 digits); raise spec.sharding.rowsPerShard (now 10) to at least 11',
    );
    expect(checkShardCount(250_000, job, 'csv')).toBe(
      'the input cuts into 250000 shards, more than the 100000 a run can have (shard numbers ' +
        'have 5 digits); raise spec.sharding.bytesPerShard (now 67108864) to at least 167772160',
    );
  });

  it('a 100,001-shard plan is what planShards makes of 100,001 ten-row groups at rowsPerShard 10', () => {
    const files = [
      { key: 'a.parquet', size: 1, partitionValues: {}, rowGroups: Array.from({ length: 100_001 }, () => 10) },
    ];
    const shards = planShards(files, 'parquet', job.spec.sharding);
    expect(shards).toHaveLength(100_001);
    expect(checkShardCount(shards.length, job, 'parquet')).toContain('more than the 100000 a run can have');
  });
});
