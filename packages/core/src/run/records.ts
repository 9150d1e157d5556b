import type { FeatureStats, Sketch } from '../quality.js';

/**
 * Whose commit a record is: the run (job, date, model) and the plan (what was cut into shards). A commit counts
 * only for the very plan it was made for: after the input or the spec changed, its shard holds other rows.
 */
export interface CommitOwner {
  runId: string;
  planId: string;
}

export function ownedBy(c: Pick<ShardCommit, 'runId' | 'planId'> | undefined, owner: CommitOwner): boolean {
  return c !== undefined && c.runId === owner.runId && c.planId === owner.planId;
}

export interface PartFile {
  key: string;
  rows: number;
  bytes: number;
  /** SHA-256 of the file's bytes (hex). */
  sha256: string;
}

/** What a part's rows came to: the same fields for a part and for a whole shard (its parts added up). */
export interface PartTotals {
  rowsOut: number;
  rowsQuarantined: number;
  files: PartFile[];
  /** The data files' columns (partition columns are folders, not columns) and Arrow type names; unset without files. */
  columns?: { name: string; type: string }[];
  /** Parquet files of quarantined rows (the input columns read plus `reason`). */
  quarantineFiles: PartFile[];
  /** Quarantined rows per "column: kind" of each row's first problem. */
  invalidCounts: Record<string, number>;
  /** Statistics of the features as read and sketches of the scored prediction columns. */
  quality?: { features: Record<string, FeatureStats>; predictions: Record<string, Sketch> };
  executionProvider: string;
  /**
   * Which build scored the rows: the image its pod ran (the renderer tells each pod its own, in BATCHSCORE_IMAGE;
   * unset outside a pod), the Node and onnxruntime versions of the worker process. Unset in records written before
   * batchscore recorded them.
   */
  image?: string;
  nodeVersion?: string;
  onnxruntimeVersion?: string;
  /** The worker process's peak resident memory so far (it may have scored other shards before). */
  peakRssBytes?: number;
  /** Rows per model run the worker used (tuned per process when spec.worker.batchSize is auto). */
  batchSize?: number;
}

/**
 * `shards/S/parts/PLAN/R.json`: one part of a shard, committed on its own once its files are durable: the rows of
 * the shard's input from `start` to `end`, scored by one attempt. Created exclusively, keyed by its first row, so of
 * two attempts writing the same rows exactly one counts; a retried attempt resumes at the end of the last part.
 */
export interface PartCommit extends CommitOwner, PartTotals {
  shard: number;
  attempt: number;
  start: InputPosition;
  end: InputPosition;
  startedAt: string;
  /** Wall time the attempt spent on these rows (read, validate, score, write). */
  durationS: number;
}

/** How an attempt at a shard ended, as the shard's commit records it. */
export type AttemptOutcome =
  /** It wrote the shard's commit (or found it written when it got there). */
  | 'finished'
  /** SIGTERM: it committed the part it held and exited. */
  | 'stopped'
  /** An error ended it (its record says which rows it had scored). */
  | 'failed'
  /**
   * Without a word: SIGKILL, the OOM killer, the node lost (or it was still running, beside the one that finished).
   * How far it got in its last part is not known: the whole part counts as scored.
   */
  | 'killed';

/** One attempt at a shard: the rows it scored, and how many of them are in the published parts. */
export interface AttemptRows {
  attempt: number;
  rowsScored: number;
  rowsKept: number;
  outcome: AttemptOutcome;
}

/** `attempt-AAA/_claim.json`: an attempt's number, taken by exclusive create, and where in the shard it started. */
export interface AttemptClaim extends CommitOwner {
  pid: number;
  host: string;
  at: string;
  /** The shard row it started from (after the parts committed before it). */
  from: number;
}

/** `attempt-AAA/_end.json`: written by an attempt that ends alive without finishing its shard. */
export interface AttemptEnd extends CommitOwner {
  rowsScored: number;
  outcome: Exclude<AttemptOutcome, 'finished' | 'killed'>;
  at: string;
}

/**
 * `shards/S/_commit.json`: the shard is done, every row of its input in exactly one committed part. Written once the
 * parts reach the end of the shard's input, by the attempt that got there; merge trusts only this. Its parts may
 * come from several attempts (a reclaimed pod's, and the retry's).
 */
export interface ShardCommit extends CommitOwner, PartTotals {
  shard: number;
  /** The attempt that finished the shard. */
  attempt: number;
  /** Conservation: rowsIn = rowsOut + rowsQuarantined. */
  rowsIn: number;
  startedAt: string;
  finishedAt: string;
  /** Seconds of scoring of the published parts, whichever attempt scored them. */
  durationS: number;
  /** The parts, in input order: shard rows [start, end) each, and the attempt whose files hold them. */
  parts?: { start: number; end: number; attempt: number }[];
  /** Every attempt at the shard, with the rows it scored and kept. */
  attempts?: AttemptRows[];
  /** Rows scored by an attempt whose part was not kept (scored again): what reclaims and races cost. */
  rowsRescored?: number;
}

/**
 * A place in a shard's input, where a part ends and the next begins: the same for every attempt, so a retried attempt
 * (another pod, another node) resumes where the last committed part ended and writes the parts an earlier attempt
 * would have written.
 */
export interface InputPosition {
  /** Rows of the shard before it, quarantined ones counted. */
  row: number;
  /** The piece (index into the shard's pieces) the next row is in. */
  piece: number;
  /** Rows of that piece before the next row. */
  pieceRow: number;
  /**
   * CSV/JSONL: the byte of the piece's file where the reader began the next record (CSV: as its RFC 4180 parser
   * reads the file, records spanning lines included) or line (JSONL), so that a resumed attempt reads from there
   * instead of scanning the piece from its start. None at a piece's start.
   */
  byte?: number;
}

/** Where every shard's input starts. */
export const START_OF_SHARD: InputPosition = { row: 0, piece: 0, pieceRow: 0 };
