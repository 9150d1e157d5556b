import {
  MANIFEST_INPUT_FILES_MAX,
  addCounts,
  outputLayout,
  planKey,
  relativePartPath,
  runKeyOf,
  runDir,
  stagingDir,
  type BatchManifest,
  type ManifestQuality,
  type PartFile,
  type ShardCommit,
  type ShardPlan,
} from '@batchscore/core';

/** Pure: the manifest of a verified run. File paths are relative to the manifest's folder. */
export function toManifest(
  plan: ShardPlan,
  commits: ShardCommit[],
  o: { finishedAt: Date; version: string; quality: ManifestQuality },
): BatchManifest {
  const run = runKeyOf(plan);
  const sorted = [...commits].sort((a, b) => a.shard - b.shard);
  const paths = (pick: (c: ShardCommit) => PartFile[]) =>
    sorted
      .flatMap((c) =>
        pick(c).map((f) => ({
          path: relativePartPath(run, c.shard, f.key),
          rows: f.rows,
          bytes: f.bytes,
          sha256: f.sha256,
        })),
      )
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files = paths((c) => c.files);
  const records = sorted.reduce((n, c) => n + c.rowsOut, 0);
  const inputRecords = sorted.reduce((n, c) => n + c.rowsIn, 0);
  const quarantined = sorted.reduce((n, c) => n + c.rowsQuarantined, 0);
  // A resumed run publishes shards scored by earlier attempts: its wall time is this attempt's, its speed is per
  // second of scoring, whichever attempt did it (plan to manifest alone made a resumed 1M-row run look 2.2 s long).
  const planned = new Date(plan.createdAt);
  const firstShard = Math.min(...sorted.map((c) => Date.parse(c.startedAt)));
  const started = new Date(Math.min(planned.getTime(), firstShard));
  const duration = Math.max(0.001, (o.finishedAt.getTime() - planned.getTime()) / 1000);
  const scoringSeconds = sorted.reduce((n, c) => n + c.durationS, 0);
  const providers = [...new Set(sorted.map((c) => c.executionProvider))].sort();
  const { job } = plan;
  const cost = job.spec.cost;
  // A worker pod is charged its share of a node for as long as it scored its shard.
  const nodeSeconds = (c: ShardCommit) => c.durationS / (cost?.workersPerNode ?? 1);
  const priceOf = (c: ShardCommit) =>
    cost ? (c.executionProvider === 'cuda' ? cost.gpuNodeHour : cost.cpuNodeHour) : 0;
  const shardCost = (c: ShardCommit) => (nodeSeconds(c) / 3600) * priceOf(c);
  const totalNodeSeconds = sorted.reduce((n, c) => n + nodeSeconds(c), 0);
  const totalCost = sorted.reduce((n, c) => n + shardCost(c), 0);
  const money = (v: number) => Number(v.toPrecision(6));
  return {
    manifest_version: 1,
    status: 'complete',
    job: job.metadata.name,
    run_id: plan.runId,
    batch_date: plan.batchDate,
    record_count: records,
    input_record_count: inputRecords,
    quarantined_record_count: quarantined,
    quarantine: {
      uri: job.spec.output.quarantineUri + runDir(run),
      max_invalid_fraction: job.spec.validation.maxInvalidFraction,
      invalid_fraction: invalidFraction(quarantined, inputRecords),
      by_reason: Object.fromEntries(
        Object.entries(invalidByReason(sorted)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
      ),
      files: paths((c) => c.quarantineFiles),
    },
    bookkeeping: {
      uri: outputLayout(job).bookkeeping + stagingDir(run),
      plan: outputLayout(job).bookkeeping + planKey(run),
    },
    input: {
      uri: plan.inputUri,
      format: plan.format,
      file_count: plan.files.length,
      ...(plan.skippedFileCount ? { skipped_file_count: plan.skippedFileCount } : {}),
      bytes: plan.files.reduce((n, f) => n + f.size, 0),
      ...(plan.files.length <= MANIFEST_INPUT_FILES_MAX
        ? {
            files: plan.files.map((f) => ({
              uri: plan.inputUri + f.key,
              rows: f.rowGroups ? f.rowGroups.reduce((n, r) => n + r, 0) : null,
              bytes: f.size,
            })),
          }
        : {}),
    },
    model: {
      uri: plan.model.uri,
      version: plan.model.version,
      sha256: plan.model.sha256,
      ...(plan.model.externalData ? { external_data: plan.model.externalData } : {}),
    },
    output: {
      uri: job.spec.output.uri + runDir(run),
      columns: outputColumns(plan, sorted),
      partition_by: job.spec.output.partitionBy,
    },
    shard_count: plan.shards.length,
    shards: sorted.map((c) => ({
      index: c.shard,
      rows_in: c.rowsIn,
      rows_out: c.rowsOut,
      rows_quarantined: c.rowsQuarantined,
      attempt: c.attempt,
      node_seconds: Math.round(nodeSeconds(c) * 1000) / 1000,
      ...(cost ? { cost: money(shardCost(c)) } : {}),
      files: c.files.length,
      execution_provider: c.executionProvider,
      ...(c.image ? { image: c.image } : {}),
      ...(c.nodeVersion ? { node_version: c.nodeVersion } : {}),
      ...(c.onnxruntimeVersion ? { onnxruntime_version: c.onnxruntimeVersion } : {}),
      started_at: c.startedAt,
      duration_s: c.durationS,
      ...(c.peakRssBytes ? { peak_rss_bytes: c.peakRssBytes } : {}),
      ...(c.batchSize ? { batch_size: c.batchSize } : {}),
      ...(c.parts ? { parts: c.parts.length } : {}),
      ...(c.attempts
        ? {
            attempts: c.attempts.map((a) => ({
              attempt: a.attempt,
              rows_scored: a.rowsScored,
              rows_kept: a.rowsKept,
              outcome: a.outcome,
            })),
          }
        : {}),
      ...(c.rowsRescored !== undefined ? { rows_rescored: c.rowsRescored } : {}),
    })),
    files,
    started_at: started.toISOString(),
    finished_at: o.finishedAt.toISOString(),
    duration_s: Math.round(duration * 1000) / 1000,
    resumed: firstShard < planned.getTime(),
    rows_rescored: sorted.reduce((n, c) => n + (c.rowsRescored ?? 0), 0),
    scoring_seconds: Math.round(scoringSeconds * 1000) / 1000,
    throughput_rows_per_s: scoringSeconds > 0 ? Math.round(inputRecords / scoringSeconds) : 0,
    execution_provider: providers.join(','),
    ...(cost
      ? {
          cost: {
            currency: cost.currency,
            node_seconds: Math.round(totalNodeSeconds * 1000) / 1000,
            total: money(totalCost),
            per_million_rows: records ? money((totalCost / records) * 1e6) : 0,
            cpu_node_hour: cost.cpuNodeHour,
            gpu_node_hour: cost.gpuNodeHour,
            workers_per_node: cost.workersPerNode,
          },
        }
      : {}),
    quality: o.quality,
    batchscore_version: o.version,
  };
}

/** Rounded to 6 significant digits: enough to compare with the limit, short enough to read. */
export function invalidFraction(quarantined: number, input: number): number {
  return input === 0 ? 0 : Number((quarantined / input).toPrecision(6));
}

/** Quarantined rows of all shards by "column: kind". */
export function invalidByReason(commits: ShardCommit[]): Record<string, number> {
  return commits.reduce((acc, c) => addCounts(acc, c.invalidCounts), {} as Record<string, number>);
}

/**
 * The data files' columns in file order, with the types the workers wrote (every shard wrote the same: checked in
 * checkCommits). Without any part written (an empty run) the names come from the job and the types are unknown.
 */
export function outputColumns(plan: ShardPlan, commits: ShardCommit[]): { name: string; type: string | null }[] {
  const written = commits.find((c) => c.columns)?.columns;
  if (written) return written;
  const { passthrough, partitionBy } = plan.job.spec.output;
  return [
    ...passthrough.filter((c) => !partitionBy.includes(c)),
    ...plan.job.spec.model.outputs.map((x) => x.column),
  ].map((name) => ({ name, type: null }));
}
