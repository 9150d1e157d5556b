/**
 * Every key batchscore writes, relative to the output store's root. Names are deterministic (zero-padded,
 * no random parts) so a retried pod writes exactly the keys its first attempt did.
 *
 *   batch_date=D/model_version=V/[k=v/…]part-SSSSS-PPPP.parquet   final data (readers see only this)
 *   batch_date=D/model_version=V/_batch_manifest.json              written last: the run is complete
 *   _batchscore/batch_date=D/model_version=V/plan.json              the shard plan
 *   _batchscore/batch_date=D/model_version=V/shards/SSSSS/…         staged parts and _commit.json per shard
 */
export const SHARD_DIGITS = 5;
export const PART_DIGITS = 4;

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
export function stagingDir(r: RunKey): string {
  return `_batchscore/${runDir(r)}`;
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
  return cols.map((c, i) => `${c}=${escapePartitionValue(values[i] ?? '')}`).map((s) => s + '/').join('');
}

export function escapePartitionValue(v: string): string {
  if (v === '') return '__HIVE_DEFAULT_PARTITION__';
  return v.replace(/[\x00-\x1f"#%'*/:=?\\\x7f{}[\]^]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function partFileName(shard: number, part: number): string {
  return `part-${pad(shard, SHARD_DIGITS)}-${pad(part, PART_DIGITS)}.parquet`;
}

/** Staged key of a part: shard folder + partition folders + file name. */
export function stagedPartKey(r: RunKey, shard: number, partition: string, part: number): string {
  return `${shardDir(r, shard)}${partition}${partFileName(shard, part)}`;
}

/** Final key of a staged part: the same relative path below the run folder. */
export function finalPartKey(r: RunKey, shard: number, stagedKey: string): string {
  const prefix = shardDir(r, shard);
  if (!stagedKey.startsWith(prefix)) throw new RangeError(`${stagedKey} is not below ${prefix}`);
  return runDir(r) + stagedKey.slice(prefix.length);
}

/** Run id: names a run by what decides its output, so the same job, date and model give the same id. */
export function runId(job: string, r: RunKey, modelSha256: string): string {
  return `${job}-${r.batchDate}-${r.modelVersion}-${modelSha256.slice(0, 12)}`;
}

/** "1 => 2 columns" style splitting of hive folder names in input keys: `a=1/b=x/file.parquet`. */
export function parseHivePartitions(key: string): Record<string, string> {
  const out: Record<string, string> = {};
  const segs = key.split('/').slice(0, -1);
  for (const s of segs) {
    const i = s.indexOf('=');
    if (i > 0) {
      let v = s.slice(i + 1);
      try {
        v = decodeURIComponent(v);
      } catch {
        /* keep raw */
      }
      out[s.slice(0, i)] = v === '__HIVE_DEFAULT_PARTITION__' ? '' : v;
    }
  }
  return out;
}
