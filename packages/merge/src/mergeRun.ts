import {
  BATCHSCORE_VERSION,
  BatchscoreError,
  checkCommits,
  checkLease,
  checkPublishedRun,
  damagedShards,
  describeCounts,
  describeDamage,
  listStaged,
  manifestKey,
  noRows,
  openRunStores,
  publishQuarantine,
  publishRun,
  publishedBy,
  publishedByAnother,
  readCommits,
  readLease,
  readRunState,
  relativePartPath,
  removeLeftoverAttempts,
  runDir,
  runKeyOf,
  stagingDir,
  storeConcurrency,
  type BatchManifest,
  type PublishedRunCheck,
  type ShardCommit,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { findBaseline } from './findBaseline.js';
import { invalidByReason, invalidFraction, toManifest } from './toManifest.js';
import { describeDrift, toQuality } from './toQuality.js';

export interface MergeOptions {
  /**
   * Replace a complete run already in the output (its manifest is removed first, so it never looks complete half-way).
   */
  force?: boolean;
  now?: () => Date;
}

export interface MergeResult {
  manifest: BatchManifest;
  manifestUri: string;
  /** True when the run was already merged and nothing was changed. */
  alreadyComplete: boolean;
}

/**
 * verify → publish. Checks every shard of the plan committed and rows in = rows out, checks the invalid rows and the
 * drift, then publishes (publishRun: copy the committed parts, remove stale ones, write `_batch_manifest.json`, clean
 * up). About 2 requests a shard (its commit record's GET, its part's copy) and a few a run (listings, batched
 * deletes). Idempotent: merging a run that is already complete (and intact: checkPublishedRun) returns its manifest
 * untouched (and removes any staged objects a merge killed after its manifest left behind). Resumable: killed at any
 * point before the manifest, a rerun publishes exactly once, from the same staged copies. A complete run whose
 * published files are damaged is published again from its shards scored anew, or refused (checkRepairable).
 */
export async function mergeRun(plan: ShardPlan, open: StoreFactory, opts: MergeOptions = {}): Promise<MergeResult> {
  const now = opts.now ?? (() => new Date());
  // The manifest goes to the records, the parts from the bookkeeping into the table and the quarantine (outputLayout).
  const stores = openRunStores(plan.job, open);
  const { table, books, records } = stores;
  const run = runKeyOf(plan);
  // Each batch of requests runs `limit` at a time: one at a time, 10,000 shards took minutes even on loopback.
  const limit = storeConcurrency(plan.job);

  const { manifest: existing } = await readRunState(records, run);
  let damaged: PublishedRunCheck | undefined;
  if (existing && !opts.force) {
    if (publishedBy(existing, plan.runId) !== 'this run') throw publishedByAnother(records, run, existing, plan.runId);
    const check = await checkPublishedRun(open, existing, { concurrency: limit });
    if (check.damaged.length === 0) {
      await removeLeftoverAttempts(books, run, existing.shards, limit);
      return { manifest: existing, manifestUri: records.uriOf(manifestKey(run)), alreadyComplete: true };
    }
    damaged = check;
  }
  // Read only now: a merge of a complete run asks for nothing more than its manifest (and a listing of its files).
  checkLease(books, run, await readLease(books, run), plan.runId);
  const commits = await readCommits(books, run, plan, limit);
  checkCommits(plan, commits, table.uriOf(runDir(run)));
  // Listed after the commit records were read: every part they name that exists is in it (S3 lists consistently).
  const staged = await listStaged(books, run);
  if (damaged)
    checkRepairable(plan, commits, new Set(staged.map((o) => o.key)), damaged, records.uriOf(manifestKey(run)));

  const rowsIn = commits.reduce((n, c) => n + c.rowsIn, 0);
  // CSV/JSONL row counts are known only now (a header-only file has bytes but no rows); Parquet's at planning.
  if (rowsIn === 0 && !plan.job.spec.input.allowEmpty)
    throw new BatchscoreError('INPUT_INVALID', noRows(plan.inputUri, plan.files.length));
  const quarantined = commits.reduce((n, c) => n + c.rowsQuarantined, 0);
  const { maxInvalidFraction } = plan.job.spec.validation;
  if (quarantined > maxInvalidFraction * rowsIn) {
    // The invalid rows are laid out where the user will look for them, but no data part is published.
    const where = existing
      ? books.uriOf(stagingDir(run) + 'shards/')
      : await publishQuarantine(stores, plan, commits, { limit, staged });
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${quarantined} of ${rowsIn} input rows (${(invalidFraction(quarantined, rowsIn) * 100).toPrecision(3)}%) ` +
        `are invalid (${describeCounts(invalidByReason(commits))}), more than spec.validation.maxInvalidFraction ` +
        `${maxInvalidFraction}; nothing was published. The invalid rows, each with its reason, ` +
        `are in ${where}`,
    );
  }

  const { lookbackDays, failOnDrift } = plan.job.spec.quality;
  const baseline = await findBaseline(records, {
    job: plan.job.metadata.name,
    run,
    lookbackDays,
  });
  const quality = toQuality(commits, plan.job.spec.quality, baseline);
  // Checked before anything moves, so a drifted run is never published.
  if (failOnDrift && quality.drift.status === 'drift') {
    throw new BatchscoreError(
      'QUALITY_DRIFT',
      `${table.uriOf(runDir(run))}: predictions drifted: ${describeDrift(quality)}; spec.quality.failOnDrift ` +
        `is set, so nothing was published`,
    );
  }
  return publishRun(stores, plan, commits, {
    limit,
    staged,
    replacing: existing !== undefined,
    manifestOf: () => toManifest(plan, commits, { finishedAt: now(), version: BATCHSCORE_VERSION, quality }),
  });
}

/**
 * A damaged complete run is published again only when every damaged file comes back from a part its shard staged
 * anew (a rerun started those shards over and scored them: prepareRepair); otherwise nothing is touched and the
 * merge fails, saying how to repair it.
 */
function checkRepairable(
  plan: ShardPlan,
  commits: readonly ShardCommit[],
  staged: ReadonlySet<string>,
  damaged: PublishedRunCheck,
  manifestUri: string,
): void {
  const run = runKeyOf(plan);
  const restaged = new Set(
    commits.flatMap((c) =>
      [...c.files, ...c.quarantineFiles]
        .filter((f) => staged.has(f.key))
        .map((f) => relativePartPath(run, c.shard, f.key)),
    ),
  );
  const lost = { ...damaged, damaged: damaged.damaged.filter((d) => !restaged.has(d.path)) };
  if (lost.damaged.length === 0) return;
  const shards = damagedShards(lost);
  const one = shards.length === 1;
  throw new BatchscoreError(
    'RUN_INVALID',
    `${manifestUri}: the published run is damaged (${describeDamage(damaged)}), and shard${one ? '' : 's'} ` +
      `${shards.join(', ')} ${one ? 'was' : 'were'} not scored again to replace it: run the job again ` +
      `(planning starts those shards over, so just they are scored again), or merge --force after ` +
      `rescoring every shard`,
  );
}
