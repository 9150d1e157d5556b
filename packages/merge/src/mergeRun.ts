import {
  BATCHSCORE_VERSION,
  BatchscoreError,
  commitKey,
  describeCounts,
  failureKey,
  lockKey,
  finalPartKey,
  manifestKey,
  mapLimit,
  storeConcurrency,
  noRows,
  readJsonIfExists,
  runDir,
  toJsonText,
  QUARANTINE_EXT,
  stagingDir,
  type BatchManifest,
  type RunKey,
  type ObjectStore,
  type ShardCommit,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { checkCommits } from './checkCommits.js';
import { findBaseline } from './findBaseline.js';
import { invalidByReason, invalidFraction, toManifest } from './toManifest.js';
import { describeDrift, toQuality } from './toQuality.js';

export interface MergeOptions {
  /** Replace a complete run already in the output (its manifest is removed first, so it never looks complete half-way). */
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
 * verify → commit → manifest. Checks every shard of the plan committed and rows in = rows out, moves the staged
 * parts into the run folder, removes stale parts, and writes `_batch_manifest.json` last.
 * Idempotent: merging a run that is already complete returns its manifest untouched.
 */
export async function mergeRun(plan: ShardPlan, open: StoreFactory, opts: MergeOptions = {}): Promise<MergeResult> {
  const now = opts.now ?? (() => new Date());
  const store = open(plan.job.spec.output.uri);
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const mKey = manifestKey(run);

  const existing = await readJsonIfExists<BatchManifest>(store, mKey);
  if (existing && !opts.force) {
    if (existing.run_id === plan.runId) return { manifest: existing, manifestUri: store.uriOf(mKey), alreadyComplete: true };
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${store.uriOf(mKey)}: the output already holds a complete run ${existing.run_id} (model sha256 ${existing.model.sha256.slice(0, 12)}…); this run is ${plan.runId}. Use a new model version, or --force to replace it`,
    );
  }

  const lease = await readJsonIfExists<{ runId: string }>(store, lockKey(run));
  if (lease && lease.runId !== plan.runId) {
    throw new BatchscoreError('RUN_CONFLICT', `${store.uriOf(lockKey(run))}: run ${lease.runId} took this output over; ${plan.runId} will not publish`);
  }
  const commits = await readCommits(store, plan, storeConcurrency(plan.job));
  checkCommits(plan, commits, store.uriOf(runDir(run)));

  const quarantine = quarantineTarget(plan, store, open);
  const moved = new Set<string>();
  const movedQuarantine = new Set<string>();
  // Each batch of requests runs `limit` at a time: one at a time, 10,000 shards took minutes even on loopback.
  const limit = storeConcurrency(plan.job);
  const publishData = () =>
    mapLimit(commits.flatMap((c) => c.files.map((f) => ({ c, f }))), limit, async ({ c, f }) => {
      const to = finalPartKey(run, c.shard, f.key);
      await moveOnce(store, f.key, to, f.bytes);
      moved.add(to);
    });
  const publishQuarantine = () =>
    mapLimit(commits.flatMap((c) => c.quarantineFiles.map((f) => ({ c, f }))), limit, async ({ c, f }) => {
      const to = finalPartKey(run, c.shard, f.key);
      await quarantine.publish(f.key, to, f.bytes);
      movedQuarantine.add(to);
    });
  const rowsIn = commits.reduce((n, c) => n + c.rowsIn, 0);
  // CSV/JSONL row counts are known only now (a header-only file has bytes but no rows); Parquet's at planning.
  if (rowsIn === 0 && !plan.job.spec.input.allowEmpty) throw new BatchscoreError('INPUT_INVALID', noRows(plan.inputUri, plan.files.length));
  const quarantined = commits.reduce((n, c) => n + c.rowsQuarantined, 0);
  const { maxInvalidFraction } = plan.job.spec.validation;
  if (quarantined > maxInvalidFraction * rowsIn) {
    // The invalid rows are laid out where the user will look for them, but no data part is published.
    if (!existing) await publishQuarantine();
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${quarantined} of ${rowsIn} input rows (${(invalidFraction(quarantined, rowsIn) * 100).toPrecision(3)}%) are invalid (${describeCounts(invalidByReason(commits))}), more than spec.validation.maxInvalidFraction ${maxInvalidFraction}; nothing was published. The invalid rows, each with its reason, are in ${existing ? store.uriOf(stagingDir(run) + 'shards/') : quarantine.store.uriOf(runDir(run))}`,
    );
  }

  const { lookbackDays, failOnDrift } = plan.job.spec.quality;
  const baseline = await findBaseline(store, { job: plan.job.metadata.name, batchDate: plan.batchDate, modelVersion: plan.model.version, lookbackDays });
  const quality = toQuality(commits, plan.job.spec.quality, baseline);
  // Checked before anything moves, so a drifted run is never published.
  if (failOnDrift && quality.drift.status === 'drift') {
    throw new BatchscoreError('QUALITY_DRIFT', `${store.uriOf(runDir(run))}: predictions drifted: ${describeDrift(quality)}; spec.quality.failOnDrift is set, so nothing was published`);
  }

  // From here the old output stops looking complete before anything in it changes.
  if (existing) await store.delete(mKey);

  await publishData();
  await publishQuarantine();
  await removeStaleParts(store, runDir(run), moved, /^part-.*\.parquet$/, limit);
  await removeStaleParts(quarantine.store, runDir(run), movedQuarantine, new RegExp(`^part-.*\\${QUARANTINE_EXT}$`), limit);

  const manifest = toManifest(plan, commits, { finishedAt: now(), version: BATCHSCORE_VERSION, quality });
  // An exclusive create: of two runs of one job and date merging at once, exactly one commits.
  if (!(await store.putIfAbsent(mKey, toJsonText(manifest)))) {
    const other = await readJsonIfExists<BatchManifest>(store, mKey);
    if (other?.run_id === plan.runId) return { manifest: other, manifestUri: store.uriOf(mKey), alreadyComplete: true };
    throw new BatchscoreError('RUN_CONFLICT', `${store.uriOf(mKey)}: another run (${other?.run_id ?? 'unknown'}) committed this output first; this run's parts were not published`);
  }
  // A failure record from an earlier attempt no longer describes this run.
  await store.delete(failureKey(run));
  await removeOrphanAttempts(store, run, limit);
  return { manifest, manifestUri: store.uriOf(mKey), alreadyComplete: false };
}

async function readCommits(store: ObjectStore, plan: ShardPlan, limit: number): Promise<ShardCommit[]> {
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const found: (ShardCommit | undefined)[] = new Array(plan.shards.length);
  await mapLimit(plan.shards, limit, async (s) => {
    const c = await readJsonIfExists<ShardCommit>(store, commitKey(run, s.index));
    found[s.index] = c && c.runId === plan.runId && c.planId === plan.planId ? c : undefined;
  });
  const commits = found.filter((c): c is ShardCommit => c !== undefined);
  const missing = plan.shards.filter((s) => !found[s.index]).map((s) => s.index);
  if (missing.length > 0) {
    const list = missing.slice(0, 10).map((i) => String(i).padStart(5, '0')).join(', ') + (missing.length > 10 ? ', …' : '');
    throw new BatchscoreError('RUN_INCOMPLETE', `${missing.length} of ${plan.shards.length} shards have not committed (${list}); score them, then merge again`);
  }
  return commits;
}

/**
 * A merge that crashed after moving some parts is resumed, and two merges of one run may race: a part already at its
 * final key with its committed size counts as moved.
 */
async function moveOnce(store: ObjectStore, from: string, to: string, bytes: number): Promise<void> {
  const src = await store.head(from);
  if (src) {
    if (src.size !== bytes) throw new BatchscoreError('RUN_INCOMPLETE', `${store.uriOf(from)}: ${src.size} bytes, but its commit recorded ${bytes}`);
    try {
      await store.move(from, to);
      return;
    } catch (err) {
      // Another merge of the same run (a second identical run, a retried pod) moved it first: fine if it landed.
      if (!(err instanceof BatchscoreError && err.code === 'STORE_NOT_FOUND')) throw err;
    }
  }
  const dst = await store.head(to);
  if (!dst || dst.size !== bytes) throw new BatchscoreError('RUN_INCOMPLETE', `${store.uriOf(from)}: committed part is missing`);
}

/**
 * What is still staged after the manifest belongs to attempts that lost (a retry racing a pod thought lost, a
 * crash before the commit), and the attempts' claims: nothing refers to them any more. Commit records stay (they
 * say which attempt was published). Best effort; none of it is ever read.
 */
async function removeOrphanAttempts(store: ObjectStore, run: RunKey, limit: number): Promise<void> {
  const orphans = (await store.list(stagingDir(run) + 'shards/')).filter((o) => /\/attempt-\d+\//.test(o.key));
  await mapLimit(orphans, limit, (o) => store.delete(o.key));
}

/** Parts left in the run folder by an earlier run of the same date and version would be read as this run's rows. */
async function removeStaleParts(store: ObjectStore, dir: string, keep: Set<string>, part: RegExp, limit: number): Promise<void> {
  const stale = (await store.list(dir)).filter((o) => part.test(o.key.slice(o.key.lastIndexOf('/') + 1)) && !keep.has(o.key));
  await mapLimit(stale, limit, (o) => store.delete(o.key));
}

interface QuarantineTarget {
  /** The quarantine's own root (spec.output.quarantineUri). */
  store: ObjectStore;
  /** Publishes a staged quarantine part (a key of the output store) at `to` (a key of the quarantine root). */
  publish(from: string, to: string, bytes: number): Promise<void>;
}

/**
 * Quarantined rows are staged with the shard's other parts in the output store, and published below
 * spec.output.quarantineUri: by a move when that lies inside the output (the default), else copied across stores
 * (they are few) and the staged copy removed.
 */
function quarantineTarget(plan: ShardPlan, output: ObjectStore, open: StoreFactory): QuarantineTarget {
  const { uri, quarantineUri } = plan.job.spec.output;
  const store = open(quarantineUri);
  if (quarantineUri.startsWith(uri)) {
    const prefix = quarantineUri.slice(uri.length);
    return { store, publish: (from, to, bytes) => moveOnce(output, from, prefix + to, bytes) };
  }
  return {
    store,
    publish: async (from, to, bytes) => {
      if ((await store.head(to))?.size !== bytes) await store.put(to, await output.get(from));
      await output.delete(from);
    },
  };
}
