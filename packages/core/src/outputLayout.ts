import { BOOKKEEPING_DIR } from './keys.js';
import type { ScoringJob } from './spec.js';
import type { ObjectStore } from './store/ObjectStore.js';
import type { StoreFactory } from './storeFactory.js';

/**
 * Where a job's runs write, each a folder URI (keys.ts names what goes below each). By default the records sit in
 * the output folder ({uri}_batchscore/ and each run folder's _batch_manifest.json), where readers that glob
 * `**\/*.parquet` skip them; with spec.output.bookkeepingUri they all leave it, and the output holds data files only.
 */
export interface OutputLayout {
  /** spec.output.uri: the table, run folders batch_date=D/model_version=V/ of published data files. */
  table: string;
  /** The plan, lease, shard commit records and staged parts (keys D/V/…: stagingDir). */
  bookkeeping: string;
  /** Manifests and failure records, at run-folder paths (manifestKey): the table, or bookkeepingUri when set. */
  records: string;
  /** spec.output.quarantineUri: run folders of quarantined rows. */
  quarantine: string;
}

/** Pure: the job's layout. */
export function outputLayout(job: ScoringJob): OutputLayout {
  const o = job.spec.output;
  return {
    table: o.uri,
    bookkeeping: o.bookkeepingUri ?? o.uri + BOOKKEEPING_DIR,
    records: o.bookkeepingUri ?? o.uri,
    quarantine: o.quarantineUri,
  };
}

/** The layout's stores, opened. */
export interface RunStores {
  table: ObjectStore;
  books: ObjectStore;
  records: ObjectStore;
  quarantine: ObjectStore;
}

export function openRunStores(job: ScoringJob, open: StoreFactory): RunStores {
  const l = outputLayout(job);
  return { table: open(l.table), books: open(l.bookkeeping), records: open(l.records), quarantine: open(l.quarantine) };
}
