import type { ModelDataFile } from './modelFiles.js';
import type { InputFormat, ScoringJob } from './spec.js';

/** One input file as the planner saw it. Keys are relative to the input URI. */
export interface InputFile {
  key: string;
  size: number;
  /**
   * What the file was when planned: its ETag on S3, its modification time (nanoseconds since the epoch) on disk.
   * Workers read only that version (S3: If-Match on every ranged GET; disk: the time checked after each read), so
   * a file replaced or rewritten since fails its shard with INPUT_CHANGED. Absent in plans made before it existed.
   */
  version?: string;
  /** Hive `k=v` folders above the file, as string columns (null: `k=__HIVE_DEFAULT_PARTITION__`). */
  partitionValues: Record<string, string | null>;
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
export type ShardFile = Pick<InputFile, 'key' | 'size' | 'version' | 'partitionValues' | 'header' | 'tailStart'>;

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
  /**
   * sha256 and bytes: of the model file; externalData: each file it keeps weights in (ONNX external data, beside it).
   * Workers load exactly these bytes or fail; modelId() of it names the run (runId).
   */
  model: { uri: string; version: string; sha256: string; bytes: number; externalData?: ModelDataFile[] };
  /** Arrow type names of every input column the job reads (file columns and hive partitions). */
  columnTypes: Record<string, string>;
  totalRows: number | null;
  shardCount: number;
  fileCount: number;
  /** Files below the input folder left out for their extension (not bookkeeping such as _SUCCESS); absent: none. */
  skippedFileCount?: number;
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
