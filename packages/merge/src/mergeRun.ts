import {
  BATCHSCORE_VERSION,
  BatchscoreError,
  describeCounts,
  mark,
  failureKey,
  lockKey,
  finalPartKey,
  listStaged,
  manifestKey,
  storeConcurrency,
  noRows,
  publishParts,
  readCommits,
  readJsonIfExists,
  removeLeftoverAttempts,
  removeOrphanAttempts,
  removeStaleParts,
  runDir,
  toJsonText,
  QUARANTINE_EXT,
  stagingDir,
  type BatchManifest,
  type ObjectStore,
  type Publication,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { checkCommits } from './checkCommits.js';
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
 * verify → commit → manifest. Checks every shard of the plan committed and rows in = rows out, copies the staged
 * parts into the run folder, removes stale parts, writes `_batch_manifest.json`, then removes what was staged.
 * About 2 requests a shard (its commit record's GET, its part's copy) and a few a run (listings, batched deletes).
 * Idempotent: merging a run that is already complete returns its manifest untouched (and removes any staged
 * objects a merge killed after its manifest left behind). Resumable: killed at any point before the manifest, a
 * rerun publishes exactly once, from the same staged copies.
 */
export async function mergeRun(plan: ShardPlan, open: StoreFactory, opts: MergeOptions = {}): Promise<MergeResult> {
  const now = opts.now ?? (() => new Date());
  const store = open(plan.job.spec.output.uri);
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const mKey = manifestKey(run);
  // Each batch of requests runs `limit` at a time: one at a time, 10,000 shards took minutes even on loopback.
  const limit = storeConcurrency(plan.job);

  const existing = await readJsonIfExists<BatchManifest>(store, mKey);
  if (existing && !opts.force) {
    if (existing.run_id === plan.runId) {
      await removeLeftoverAttempts(store, run, existing.shards, limit);
      return { manifest: existing, manifestUri: store.uriOf(mKey), alreadyComplete: true };
    }
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${store.uriOf(mKey)}: the output already holds a complete run ${existing.run_id} ` +
        `(model sha256 ${existing.model.sha256.slice(0, 12)}…); this run is ${plan.runId}. ` +
        `Use a new model version, or --force to replace it`,
    );
  }

  const lease = await readJsonIfExists<{ runId: string }>(store, lockKey(run));
  if (lease && lease.runId !== plan.runId) {
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${store.uriOf(lockKey(run))}: run ${lease.runId} took this output over; ${plan.runId} will not publish`,
    );
  }
  const commits = await readCommits(store, run, plan, limit);
  checkCommits(plan, commits, store.uriOf(runDir(run)));
  // Listed after the commit records were read: every part they name that exists is in it (S3 lists consistently).
  const staged = await listStaged(store, run);
  const stagedSizes = new Map(staged.map((o) => [o.key, o.size]));

  const quarantine = quarantineTarget(plan, store, open);
  const dataParts: Publication[] = commits.flatMap((c) =>
    c.files.map((f) => ({ from: f.key, to: finalPartKey(run, c.shard, f.key), bytes: f.bytes })),
  );
  const quarantineParts: Publication[] = commits.flatMap((c) =>
    c.quarantineFiles.map((f) => ({ from: f.key, to: finalPartKey(run, c.shard, f.key), bytes: f.bytes })),
  );
  const publishData = () => publishParts(store, dataParts, { limit, staged: stagedSizes });
  const publishQuarantine = () => quarantine.publish(quarantineParts, { limit, staged: stagedSizes });
  const rowsIn = commits.reduce((n, c) => n + c.rowsIn, 0);
  // CSV/JSONL row counts are known only now (a header-only file has bytes but no rows); Parquet's at planning.
  if (rowsIn === 0 && !plan.job.spec.input.allowEmpty)
    throw new BatchscoreError('INPUT_INVALID', noRows(plan.inputUri, plan.files.length));
  const quarantined = commits.reduce((n, c) => n + c.rowsQuarantined, 0);
  const { maxInvalidFraction } = plan.job.spec.validation;
  if (quarantined > maxInvalidFraction * rowsIn) {
    // The invalid rows are laid out where the user will look for them, but no data part is published.
    if (!existing) await publishQuarantine();
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${quarantined} of ${rowsIn} input rows (${(invalidFraction(quarantined, rowsIn) * 100).toPrecision(3)}%) ` +
        `are invalid (${describeCounts(invalidByReason(commits))}), more than spec.validation.maxInvalidFraction ` +
        `${maxInvalidFraction}; nothing was published. The invalid rows, each with its reason, ` +
        `are in ${existing ? store.uriOf(stagingDir(run) + 'shards/') : quarantine.store.uriOf(runDir(run))}`,
    );
  }

  const { lookbackDays, failOnDrift } = plan.job.spec.quality;
  const baseline = await findBaseline(store, {
    job: plan.job.metadata.name,
    batchDate: plan.batchDate,
    modelVersion: plan.model.version,
    lookbackDays,
  });
  const quality = toQuality(commits, plan.job.spec.quality, baseline);
  // Checked before anything moves, so a drifted run is never published.
  if (failOnDrift && quality.drift.status === 'drift') {
    throw new BatchscoreError(
      'QUALITY_DRIFT',
      `${store.uriOf(runDir(run))}: predictions drifted: ${describeDrift(quality)}; spec.quality.failOnDrift ` +
        `is set, so nothing was published`,
    );
  }

  // From here the old output stops looking complete before anything in it changes.
  if (existing) await store.delete(mKey);

  mark('merge checked');
  await publishData();
  await publishQuarantine();
  await removeStaleParts(store, runDir(run), new Set(dataParts.map((p) => p.to)), /^part-.*\.parquet$/, limit);
  await removeStaleParts(
    quarantine.store,
    runDir(run),
    new Set(quarantineParts.map((p) => p.to)),
    new RegExp(`^part-.*\\${QUARANTINE_EXT}$`),
    limit,
  );

  mark('published');
  const manifest = toManifest(plan, commits, { finishedAt: now(), version: BATCHSCORE_VERSION, quality });
  // An exclusive create: of two runs of one job and date merging at once, exactly one commits.
  if (!(await store.putIfAbsent(mKey, toJsonText(manifest)))) {
    const other = await readJsonIfExists<BatchManifest>(store, mKey);
    if (other?.run_id === plan.runId) return { manifest: other, manifestUri: store.uriOf(mKey), alreadyComplete: true };
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${store.uriOf(mKey)}: another run (${other?.run_id ?? 'unknown'}) committed this ` +
        `output first; this run's parts were not published`,
    );
  }
  // What was staged is published or lost, and a failure record from an earlier attempt no longer describes this
  // run: all of it goes in one batch (a merge killed here leaves staged objects the next merge removes).
  mark('manifest written');
  await removeOrphanAttempts(store, staged, limit, [failureKey(run)]);
  return { manifest, manifestUri: store.uriOf(mKey), alreadyComplete: false };
}

interface QuarantineTarget {
  /** The quarantine's own root (spec.output.quarantineUri). */
  store: ObjectStore;
  /** Publishes staged quarantine parts (`from`: keys of the output store) at `to` (keys of the quarantine root). */
  publish(parts: Publication[], opts: { limit: number; staged: ReadonlyMap<string, number> }): Promise<void>;
}

/**
 * Quarantined rows are staged with the shard's other parts in the output store, and published below
 * spec.output.quarantineUri: copied within the output store when that lies inside it (the default), else read and
 * written across stores (they are few). Their staged copies go with the rest after the manifest.
 */
function quarantineTarget(plan: ShardPlan, output: ObjectStore, open: StoreFactory): QuarantineTarget {
  const { uri, quarantineUri } = plan.job.spec.output;
  const store = open(quarantineUri);
  if (quarantineUri.startsWith(uri)) {
    const prefix = quarantineUri.slice(uri.length);
    return {
      store,
      publish: (parts, opts) =>
        publishParts(
          output,
          parts.map((p) => ({ ...p, to: prefix + p.to })),
          opts,
        ),
    };
  }
  return { store, publish: (parts, opts) => publishParts(output, parts, { ...opts, into: store }) };
}
