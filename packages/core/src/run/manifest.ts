import type { ModelDataFile } from '../modelFiles.js';
import type { Histogram, Sketch } from '../quality.js';
import type { InputFormat } from '../spec.js';
import type { AttemptOutcome } from './records.js';

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
    /** Files in the input folder left out for their extension (`b.csv.gz` beside `a.csv`); absent: none. */
    skipped_file_count?: number;
    bytes: number;
    files?: { uri: string; rows: number | null; bytes: number }[];
  };
  /** sha256: of the model file; external_data: each file it keeps weights in (absent when it has none). */
  model: { uri: string; version: string; sha256: string; external_data?: ModelDataFile[] };
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
    /** The image the shard's pod ran, as its pod spec named it (absent outside a cluster). */
    image?: string;
    /** The worker's Node (process.version, e.g. v22.23.5) and onnxruntime versions. */
    node_version?: string;
    onnxruntime_version?: string;
    started_at: string;
    duration_s: number;
    peak_rss_bytes?: number;
    batch_size?: number;
    /** Parts the shard's rows were committed in (each by one attempt). */
    parts?: number;
    /** Every attempt at the shard: the rows it scored, the rows of it published, how it ended. */
    attempts?: { attempt: number; rows_scored: number; rows_kept: number; outcome: AttemptOutcome }[];
    /** Rows scored by an attempt whose part was not kept, and so scored again. */
    rows_rescored?: number;
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
  /** Rows scored again because the attempt that first scored them did not keep them (a reclaim, a kill, a race). */
  rows_rescored?: number;
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
