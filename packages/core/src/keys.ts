/**
 * Every key batchscore writes, relative to the output store's root (the quarantine's to its own root). Names are
 * deterministic (zero-padded, no random parts) so a retried pod writes exactly the keys its first attempt did.
 *
 *   batch_date=D/model_version=V/[k=v/…]part-SSSSS-PPPP.parquet   published data: the only `.parquet` files
 *   batch_date=D/model_version=V/_batch_manifest.json              written last: the run is complete
 *   _batchscore/D/V/plan.json                                      the shard plan
 *   _batchscore/D/V/run.lock                                       the run id that holds this output
 *   _batchscore/D/V/shards/SSSSS/_commit.json                      names the attempt that counts
 *   _batchscore/D/V/shards/SSSSS/attempt-AAA/[k=v/…]part-SSSSS-PPPP.parquet.staged    one attempt's data parts
 *   _batchscore/D/V/shards/SSSSS/attempt-AAA/quarantine/part-SSSSS-PPPP.parq.staged   …and quarantined rows
 *   {quarantineUri}batch_date=D/model_version=V/part-SSSSS-PPPP.parq   published quarantine (default _quarantine/)
 *
 * Readers glob `{output.uri}**\/*.parquet` with hive partitioning (DuckDB, polars): so nothing but published data
 * may end in `.parquet`, and no bookkeeping path has a `k=v` segment that could pass for a partition. Staged parts
 * end in `.staged` until merge publishes them; quarantined rows end in `.parq` (still a Parquet extension for every
 * reader, but outside that glob), under a `_`-prefixed folder that Spark and Arrow datasets skip.
 *
 * Attempts are numbered 1, 2, 3… by exclusive create, so two attempts of one shard (an Argo retry while a lost
 * pod still writes) never write the same key, and the commit record picks exactly one of them.
 */
export const SHARD_DIGITS = 5;
export const PART_DIGITS = 4;
export const ATTEMPT_DIGITS = 3;
/** Default quarantine location, below the output root: '_' keeps Hive, Spark and Arrow dataset readers out of it. */
export const DEFAULT_QUARANTINE_DIR = '_quarantine/';
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

export interface RunKey {
  batchDate: string;
  modelVersion: string;
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
/** The run's bookkeeping: plain `D/V/` segments, so no hive reader takes it for a partition. */
export function stagingDir(r: RunKey): string {
  return `_batchscore/${r.batchDate}/${r.modelVersion}/`;
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

/** Hive-style folders for partition values; values are escaped as Hive does, so '/' and '=' cannot forge a folder. */
export function partitionPath(cols: string[], values: string[]): string {
  return cols
    .map((c, i) => `${escapePartitionName(c)}=${escapePartitionValue(values[i] ?? '')}`)
    .map((s) => s + '/')
    .join('');
}

export function escapePartitionValue(v: string): string {
  if (v === '') return '__HIVE_DEFAULT_PARTITION__';
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

export function partFileName(shard: number, part: number): string {
  return `part-${pad(shard, SHARD_DIGITS)}-${pad(part, PART_DIGITS)}.parquet`;
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

/** Staged key of a part: attempt folder + partition folders (data) or quarantine/ + file name + `.staged`. */
export function stagedPartKey(
  r: RunKey,
  shard: number,
  attempt: number,
  partition: string,
  part: number,
  kind: PartKind = 'data',
): string {
  const where = kind === 'data' ? partition : QUARANTINE_STAGING;
  const name = kind === 'data' ? partFileName(shard, part) : quarantineFileName(shard, part);
  return `${attemptDir(r, shard, attempt)}${where}${name}${STAGED_SUFFIX}`;
}

export function quarantineFileName(shard: number, part: number): string {
  return `part-${pad(shard, SHARD_DIGITS)}-${pad(part, PART_DIGITS)}${QUARANTINE_EXT}`;
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

/** Run id: names a run by what decides its output, so the same job, date and model give the same id. */
export function runId(job: string, r: RunKey, modelSha256: string): string {
  return `${job}-${r.batchDate}-${r.modelVersion}-${modelSha256.slice(0, 12)}`;
}

/** A hive folder's name or value with its %XX escapes undone; as written when it holds a stray %. */
function unescapePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** "1 => 2 columns" style splitting of hive folder names in input keys: `a=1/b=x/file.parquet`. */
export function parseHivePartitions(key: string): Record<string, string> {
  const out: Record<string, string> = {};
  const segs = key.split('/').slice(0, -1);
  for (const s of segs) {
    const i = s.indexOf('=');
    if (i > 0) {
      const v = unescapePath(s.slice(i + 1));
      out[unescapePath(s.slice(0, i))] = v === '__HIVE_DEFAULT_PARTITION__' ? '' : v;
    }
  }
  return out;
}
