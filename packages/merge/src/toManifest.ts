import { runDir, type BatchManifest, type ShardCommit, type ShardPlan } from '@batchscore/core';

/** Pure: the manifest of a verified run. File paths are relative to the manifest's folder. */
export function toManifest(plan: ShardPlan, commits: ShardCommit[], o: { finishedAt: Date; version: string }): BatchManifest {
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const stagingPrefixLen = (c: ShardCommit) => `_batchscore/${runDir(run)}shards/${String(c.shard).padStart(5, '0')}/`.length;
  const sorted = [...commits].sort((a, b) => a.shard - b.shard);
  const files = sorted
    .flatMap((c) => c.files.map((f) => ({ path: f.key.slice(stagingPrefixLen(c)), rows: f.rows, bytes: f.bytes })))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const records = sorted.reduce((n, c) => n + c.rowsOut, 0);
  const inputRecords = sorted.reduce((n, c) => n + c.rowsIn, 0);
  const started = new Date(plan.createdAt);
  const duration = Math.max(0.001, (o.finishedAt.getTime() - started.getTime()) / 1000);
  const providers = [...new Set(sorted.map((c) => c.executionProvider))].sort();
  const { job } = plan;
  return {
    status: 'complete',
    job: job.metadata.name,
    run_id: plan.runId,
    batch_date: plan.batchDate,
    record_count: records,
    input_record_count: inputRecords,
    input: { uri: plan.inputUri, format: plan.format, files: plan.files.length },
    model: { uri: plan.model.uri, version: plan.model.version, sha256: plan.model.sha256 },
    output: {
      uri: job.spec.output.uri + runDir(run),
      columns: [...job.spec.output.passthrough.filter((c) => !job.spec.output.partitionBy.includes(c)), ...job.spec.model.outputs.map((x) => x.column)],
      partition_by: job.spec.output.partitionBy,
    },
    shard_count: plan.shards.length,
    shards: sorted.map((c) => ({
      index: c.shard,
      rows_in: c.rowsIn,
      rows_out: c.rowsOut,
      files: c.files.length,
      execution_provider: c.executionProvider,
      duration_s: c.durationS,
      ...(c.peakRssBytes ? { peak_rss_bytes: c.peakRssBytes } : {}),
      ...(c.batchSize ? { batch_size: c.batchSize } : {}),
    })),
    files,
    started_at: started.toISOString(),
    finished_at: o.finishedAt.toISOString(),
    duration_s: Math.round(duration * 1000) / 1000,
    throughput_rows_per_s: Math.round(records / duration),
    execution_provider: providers.join(','),
    batchscore_version: o.version,
  };
}
