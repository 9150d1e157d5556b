import type { FeatureStats, Histogram, Sketch } from './quality.js';
import type { InputFormat, ScoringJob } from './spec.js';

/** One input file as the planner saw it. Keys are relative to the input URI. */
export interface InputFile {
  key: string;
  size: number;
  /** Hive `k=v` folders above the file, as string columns. */
  partitionValues: Record<string, string>;
  /** Parquet: rows per row group, from the footer. */
  rowGroups?: number[];
  /** CSV: the header's column names (every shard needs them, only the first range holds them). */
  header?: string[];
  /**
   * Parquet: each row group's compressed bytes, from the footer. Writers lay row groups back to back from byte 4,
   * so row group i spans [4 + the sizes before it, that + its own size).
   */
  rowGroupBytes?: number[];
  /**
   * Parquet: where the bytes after the last row group begin (page indexes, the footer, its length and magic), so a
   * worker reads [tailStart, size) in one request and the footer is never searched for again. Absent when the
   * row groups are not back to back (another layout): then a worker reads the file whole.
   */
  tailStart?: number;
}

/**
 * What a shard's record keeps of an input file: what a worker needs to read its pieces, not the whole footer's sizes.
 */
export type ShardFile = Pick<InputFile, 'key' | 'size' | 'partitionValues' | 'header' | 'tailStart'>;

export type ShardPiece =
  /**
   * Parquet: row groups [rowGroupStart, rowGroupEnd) of one file; `bytes`: the byte range [start, end) they span,
   * when the file's layout is known (InputFile.tailStart).
   */
  | { file: number; rowGroupStart: number; rowGroupEnd: number; rows: number; bytes?: [number, number] }
  /** CSV/JSONL: the lines that start in bytes [byteStart, byteEnd) of one file. */
  | { file: number; byteStart: number; byteEnd: number };

export interface Shard {
  index: number;
  pieces: ShardPiece[];
  /** Known for Parquet (from footers); null for CSV/JSONL until a worker reads the lines. */
  rows: number | null;
}

/**
 * `plan.json`: what every stage needs to know of a run, the same size whatever the input's size. The files and the
 * shards are objects of their own beside it (planObjectKeys), so a score pod reads its shard with two small ranged
 * GETs instead of the whole plan: at 10,000 shards a whole plan is megabytes, fetched by each of 10,000 pods.
 */
export interface PlanHeader {
  apiVersion: 'batchscore.dev/v1alpha1';
  kind: 'ShardPlan';
  runId: string;
  /** Hash of what the plan cuts (files, sizes, shards, model): a commit counts only for the plan it was made for. */
  planId: string;
  batchDate: string;
  job: ScoringJob;
  /** The input URI with "{date}" filled in. */
  inputUri: string;
  format: InputFormat;
  model: { uri: string; version: string; sha256: string; bytes: number };
  /** Arrow type names of every input column the job reads (file columns and hive partitions). */
  columnTypes: Record<string, string>;
  totalRows: number | null;
  shardCount: number;
  fileCount: number;
  /** Summed size of the input files. */
  inputBytes: number;
  createdAt: string;
}

/** The whole plan, as the planner makes it and merge reads it: the header, every input file and every shard. */
export interface ShardPlan extends PlanHeader {
  files: InputFile[];
  shards: Shard[];
}

/**
 * One shard as a score pod reads it: self-contained (the files its pieces read, keyed by their index in the plan's
 * file list, as ShardPiece.file names them), and stamped with the plan it belongs to.
 */
export interface ShardRecord extends Shard {
  planId: string;
  files: Record<number, ShardFile>;
}

export interface PartFile {
  key: string;
  rows: number;
  bytes: number;
  /** SHA-256 of the file's bytes (hex). */
  sha256: string;
}

/** What a worker writes after its shard's parts are all durable. Merge trusts only committed shards. */
export interface ShardCommit {
  runId: string;
  planId: string;
  shard: number;
  /** The attempt whose parts these are (parts of other attempts are never published). */
  attempt: number;
  /** Conservation: rowsIn = rowsOut + rowsQuarantined. */
  rowsIn: number;
  rowsOut: number;
  rowsQuarantined: number;
  files: PartFile[];
  /** The data parts' columns (partition columns are folders, not columns) and Arrow type names; unset without parts. */
  columns?: { name: string; type: string }[];
  /** Parquet files of quarantined rows (the input columns read plus `reason`). */
  quarantineFiles: PartFile[];
  /** Quarantined rows per "column: kind" of each row's first problem. */
  invalidCounts: Record<string, number>;
  /** Statistics of the features as read and sketches of the scored prediction columns. */
  quality?: { features: Record<string, FeatureStats>; predictions: Record<string, Sketch> };
  executionProvider: string;
  /** The worker process's peak resident memory so far (it may have scored other shards before). */
  peakRssBytes?: number;
  /** Rows per model run the worker used (tuned per process when spec.worker.batchSize is auto). */
  batchSize?: number;
  startedAt: string;
  finishedAt: string;
  durationS: number;
}

/** The manifest's file entry: path relative to the folder it belongs to (run folder, or quarantine run folder). */
export interface ManifestFile {
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/**
 * `_batch_manifest.json`, version 1: the contract downstream jobs read (schemas/batch-manifest.v1.schema.json).
 * Fields are only ever added within a version; a change in meaning is a new manifest_version.
 */
export interface BatchManifest {
  manifest_version: 1;
  status: 'complete';
  job: string;
  run_id: string;
  batch_date: string;
  /** Rows scored and written. */
  record_count: number;
  input_record_count: number;
  /** Rows not scored (input_record_count = record_count + quarantined_record_count). */
  quarantined_record_count: number;
  /** Where rows that were not scored are, and why (files is empty when there are none). */
  quarantine: {
    uri: string;
    max_invalid_fraction: number;
    invalid_fraction: number;
    by_reason: Record<string, number>;
    files: ManifestFile[];
  };
  /** The run's bookkeeping: plan, lease and shard commit records (never read by analysts). */
  bookkeeping: { uri: string; plan: string };
  /**
   * files lists every input file up to MANIFEST_INPUT_FILES_MAX of them (rows null for CSV/JSONL, counted only per
   * shard); past that it is left out and the plan (bookkeeping.plan) lists them.
   */
  input: {
    uri: string;
    format: InputFormat;
    file_count: number;
    bytes: number;
    files?: { uri: string; rows: number | null; bytes: number }[];
  };
  model: { uri: string; version: string; sha256: string };
  /**
   * columns: of the data files, with Arrow type names (type null when no row was written); partition_by columns are
   * folders.
   */
  output: { uri: string; columns: { name: string; type: string | null }[]; partition_by: string[] };
  shard_count: number;
  shards: {
    index: number;
    rows_in: number;
    rows_out: number;
    rows_quarantined: number;
    attempt: number;
    node_seconds: number;
    cost?: number;
    files: number;
    execution_provider: string;
    started_at: string;
    duration_s: number;
    peak_rss_bytes?: number;
    batch_size?: number;
  }[];
  files: ManifestFile[];
  /** When the first committed shard (or this attempt's plan, if earlier) started; finished_at: the manifest's time. */
  started_at: string;
  finished_at: string;
  /**
   * Wall time of the attempt that published: its plan to its manifest. A resumed run's earlier attempts are not in it.
   */
  duration_s: number;
  /** True when some published shards were scored by an earlier attempt (the run was resumed). */
  resumed: boolean;
  /** Summed wall time of the published shards' scoring, whichever attempt scored them. */
  scoring_seconds: number;
  /** input_record_count ÷ scoring_seconds: rows per second of one worker, true however often the run resumed. */
  throughput_rows_per_s: number;
  execution_provider: string;
  /** Present with spec.cost: each shard's node-seconds priced by its execution provider. */
  cost?: {
    currency: string;
    node_seconds: number;
    total: number;
    per_million_rows: number;
    cpu_node_hour: number;
    gpu_node_hour: number;
    workers_per_node: number;
  };
  quality?: ManifestQuality;
  batchscore_version: string;
}

/**
 * Past this many input files the manifest leaves the list to the plan (a manifest stays small enough to read whole).
 */
export const MANIFEST_INPUT_FILES_MAX = 1000;

export interface ManifestQuality {
  predictions: Record<
    string,
    { count: number; mean: number | null; min: number | null; max: number | null; histogram: Histogram; sketch: Sketch }
  >;
  features: Record<
    string,
    { count: number; min: number | null; max: number | null; mean: number | null; nulls: number; non_finite: number }
  >;
  drift: {
    status: 'ok' | 'drift' | 'no_baseline';
    threshold: number;
    /** The run compared against: the latest earlier date of this job and model version within the lookback. */
    baseline?: { run_id: string; batch_date: string };
    psi: Record<string, number>;
  };
}
