/**
 * Every key batchscore writes, each relative to the folder of its kind (outputLayout): the table (spec.output.uri),
 * the bookkeeping ({uri}_batchscore/, or spec.output.bookkeepingUri), the records (the table, or
 * spec.output.bookkeepingUri) and the quarantine (spec.output.quarantineUri). Names are deterministic (zero-padded,
 * no random parts) so a retried pod writes exactly the keys its first attempt did.
 *
 *   table:       batch_date=D/model_version=V/[k=v/…]part-SSSSS-RRRRRRRRRR.parquet   published data: the only .parquet
 *   records:     batch_date=D/model_version=V/_batch_manifest.json        written last: the run is complete
 *   bookkeeping: D/V/plan.json                                            the shard plan
 *   bookkeeping: D/V/run.lock                                             the run id that holds this output
 *   bookkeeping: D/V/shards/SSSSS/_commit.json                            the shard is done: its parts, in input order
 *   bookkeeping: D/V/shards/SSSSS/parts/PLANID/RRRRRRRRRR.json            one part committed: input rows R… of shard S
 *   bookkeeping: D/V/shards/SSSSS/attempt-AAA/_claim.json                 the attempt's number, by exclusive create
 *   bookkeeping: D/V/shards/SSSSS/attempt-AAA/_end.json                   how an attempt that did not finish ended
 *   bookkeeping: D/V/shards/SSSSS/attempt-AAA/[k=v/…]part-SSSSS-RRRRRRRRRR.parquet.staged   an attempt's data parts
 *   bookkeeping: D/V/shards/SSSSS/attempt-AAA/quarantine/part-SSSSS-RRRRRRRRRR.parq.staged  …and quarantined rows
 *   quarantine:  batch_date=D/model_version=V/part-SSSSS-RRRRRRRRRR.parq  published quarantine
 *
 * A part holds the rows that follow input row R of shard S (RRRRRRRRRR: R zero-padded); parts are cut at the same
 * input rows by every attempt, so a part's name is the same whichever attempt wrote it.
 *
 * Readers glob `{output.uri}**\/*.parquet` with hive partitioning (DuckDB, polars): so nothing but published data
 * may end in `.parquet`, and no bookkeeping path has a `k=v` segment that could pass for a partition. Staged parts
 * end in `.staged` until merge publishes them; quarantined rows end in `.parq` (still a Parquet extension for every
 * reader, but outside that glob), under a `_`-prefixed folder that Spark and Arrow datasets skip.
 *
 * Attempts are numbered 1, 2, 3… by exclusive create, so two attempts of one shard (an Argo retry while a lost
 * pod still writes) never write the same key, and the commit record picks exactly one of them.
 */
import type { RunKey } from './run/runKey.js';

export const SHARD_DIGITS = 5;
/** Digits of a part's first input row in its names (more when a shard holds more rows). */
export const ROW_DIGITS = 10;
export const ATTEMPT_DIGITS = 3;
/** Default quarantine location, below the output root: '_' keeps Hive, Spark and Arrow dataset readers out of it. */
export const DEFAULT_QUARANTINE_DIR = '_quarantine/';
/** Default bookkeeping location, below the output root, for the same reason. */
export const BOOKKEEPING_DIR = '_batchscore/';
/** Staged parts are no Parquet files to a `*.parquet` glob until merge publishes them. */
export const STAGED_SUFFIX = '.staged';
/** Quarantine parts: a Parquet extension that a `**\/*.parquet` glob over the output does not match. */
export const QUARANTINE_EXT = '.parq';
/** Folder of an attempt's quarantined rows: it has no '=' so it is never mistaken for a partition. */
const QUARANTINE_STAGING = 'quarantine/';

export function pad(n: number, width: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`not a non-negative integer: ${n}`);
  const s = String(n);
  if (s.length > width) throw new RangeError(`${n} needs more than ${width} digits`);
  return s.padStart(width, '0');
}

export function runDir(r: RunKey): string {
  return `batch_date=${r.batchDate}/model_version=${r.modelVersion}/`;
}
export function manifestKey(r: RunKey): string {
  return `${runDir(r)}_batch_manifest.json`;
}
export function failureKey(r: RunKey): string {
  return `${runDir(r)}_batch_failure.json`;
}
/** The run's bookkeeping, below the bookkeeping folder: plain `D/V/` segments, no `k=v` a reader takes for one. */
export function stagingDir(r: RunKey): string {
  return `${r.batchDate}/${r.modelVersion}/`;
}
/** The run's lease: holds the run id that owns this output folder (taken at planning with an exclusive create). */
export function lockKey(r: RunKey): string {
  return `${stagingDir(r)}run.lock`;
}
export function planKey(r: RunKey): string {
  return `${stagingDir(r)}plan.json`;
}
export function shardDir(r: RunKey, shard: number): string {
  return `${stagingDir(r)}shards/${pad(shard, SHARD_DIGITS)}/`;
}
export function commitKey(r: RunKey, shard: number): string {
  return `${shardDir(r, shard)}_commit.json`;
}

/**
 * Hive-style folders for partition values; values are escaped as Hive does, so '/' and '=' cannot forge a folder.
 * Null (and, as in Hive and Spark, the empty string) is the folder `__HIVE_DEFAULT_PARTITION__`, read back as null.
 */
export function partitionPath(cols: string[], values: readonly (string | null)[]): string {
  return cols
    .map((c, i) => `${escapePartitionName(c)}=${escapePartitionValue(values[i] ?? '')}`)
    .map((s) => s + '/')
    .join('');
}

export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

export function escapePartitionValue(v: string | null): string {
  if (v === null || v === '') return HIVE_NULL;
  return escapePartitionName(v);
}

/**
 * A column name in a hive folder name, escaped as Hive and Spark escape names and values (escapePathName): `/`,
 * `=` and the other characters a path or a reader would misread become %XX. Any name is a column name.
 */
export function escapePartitionName(v: string): string {
  return v.replace(
    // Control characters are what this escapes (as Hive does), so the rule against them in a pattern is wrong here.
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f"#%'*/:=?\\\x7f{}[\]^]/g,
    (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'),
  );
}

/** `part-SSSSS-RRRRRRRRRR.parquet`: the data file of the part of shard S whose input starts at row R of it. */
export function partFileName(shard: number, partStart: number): string {
  return `part-${pad(shard, SHARD_DIGITS)}-${padRow(partStart)}.parquet`;
}

/** A row number in names: zero-padded to ROW_DIGITS, longer when it must be (names then sort as numbers no more). */
function padRow(row: number): string {
  return pad(row, Math.max(ROW_DIGITS, String(row).length));
}

/** Where the records of the parts committed for one plan of a shard lie. */
export function partRecordsDir(r: RunKey, shard: number, planId: string): string {
  return `${shardDir(r, shard)}parts/${planId}/`;
}

/** The record of a shard's part that starts at input row `start`: created exclusively, so one attempt's counts. */
export function partRecordKey(r: RunKey, shard: number, planId: string, start: number): string {
  return `${partRecordsDir(r, shard, planId)}${padRow(start)}.json`;
}

/** Written by an attempt that ends without finishing its shard (stopped, failed, outrun): the rows it scored. */
export function attemptEndKey(r: RunKey, shard: number, attempt: number): string {
  return `${attemptDir(r, shard, attempt)}_end.json`;
}

/**
 * The attempt and first input row of a staged part, from its key (`…/attempt-AAA/…part-SSSSS-R….parquet.staged`, or
 * `.parq.staged`), or undefined for any other key.
 */
export function stagedPartOf(key: string): { attempt: number; partStart: number } | undefined {
  const m = /\/attempt-(\d+)\/(?:.*\/)?part-\d+-(\d+)\.(?:parquet|parq)\.staged$/.exec(key);
  return m ? { attempt: Number(m[1]), partStart: Number(m[2]) } : undefined;
}

export function attemptDir(r: RunKey, shard: number, attempt: number): string {
  if (attempt < 1) throw new RangeError(`attempts count from 1, got ${attempt}`);
  return `${shardDir(r, shard)}attempt-${pad(attempt, ATTEMPT_DIGITS)}/`;
}
/** Created exclusively by the attempt that takes this number. */
export function attemptClaimKey(r: RunKey, shard: number, attempt: number): string {
  return `${attemptDir(r, shard, attempt)}_claim.json`;
}

export type PartKind = 'data' | 'quarantine';

/** Staged key of a part's file: attempt folder + partition folders (data) or quarantine/ + file name + `.staged`. */
export function stagedPartKey(
  r: RunKey,
  shard: number,
  attempt: number,
  partition: string,
  partStart: number,
  kind: PartKind = 'data',
): string {
  const where = kind === 'data' ? partition : QUARANTINE_STAGING;
  const name = kind === 'data' ? partFileName(shard, partStart) : quarantineFileName(shard, partStart);
  return `${attemptDir(r, shard, attempt)}${where}${name}${STAGED_SUFFIX}`;
}

export function quarantineFileName(shard: number, partStart: number): string {
  return `part-${pad(shard, SHARD_DIGITS)}-${padRow(partStart)}${QUARANTINE_EXT}`;
}

/**
 * What follows a staged part's attempt folder, without `.staged`: `[k=v/]part-….parquet` or `quarantine/part-….parq`.
 */
function stagedPath(r: RunKey, shard: number, stagedKey: string): string {
  const prefix = shardDir(r, shard);
  const m = stagedKey.startsWith(prefix) ? /^attempt-\d+\/(.+)\.staged$/.exec(stagedKey.slice(prefix.length)) : null;
  if (!m) throw new RangeError(`${stagedKey} is not a staged part below ${prefix}attempt-NNN/`);
  return m[1]!;
}

/**
 * Path of a staged data part relative to the run folder (and of a quarantine part relative to the quarantine's run
 * folder).
 */
export function relativePartPath(r: RunKey, shard: number, stagedKey: string): string {
  const p = stagedPath(r, shard, stagedKey);
  return p.startsWith(QUARANTINE_STAGING) ? p.slice(QUARANTINE_STAGING.length) : p;
}

/**
 * Final key of a staged part, whichever attempt wrote it: the same relative path below the run folder of the root
 * its kind is published under (data: the output's, `batch_date=D/model_version=V/[k=v/]part-….parquet`; quarantine:
 * spec.output.quarantineUri's, `batch_date=D/model_version=V/part-….parq`).
 */
export function finalPartKey(r: RunKey, shard: number, stagedKey: string): string {
  return runDir(r) + relativePartPath(r, shard, stagedKey);
}

/**
 * Run id: names a run by what decides its output, so the same job, date and model give the same id. `model`: the
 * model's id (modelId: every byte of it, external data included).
 */
export function runId(job: string, r: RunKey, model: string): string {
  return `${job}-${r.batchDate}-${r.modelVersion}-${model.slice(0, 12)}`;
}

/** A hive folder's name or value with its %XX escapes undone; as written when it holds a stray %. */
function unescapePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * "1 => 2 columns" style splitting of hive folder names in input keys: `a=1/b=x/file.parquet`. Hive's null folder
 * (`k=__HIVE_DEFAULT_PARTITION__`) is null, as DuckDB, polars and Spark read it.
 */
export function parseHivePartitions(key: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const segs = key.split('/').slice(0, -1);
  for (const s of segs) {
    const i = s.indexOf('=');
    if (i > 0) {
      const v = unescapePath(s.slice(i + 1));
      out[unescapePath(s.slice(0, i))] = v === HIVE_NULL ? null : v;
    }
  }
  return out;
}
