import { BatchscoreError } from '../errors.js';
import { readJsonIfExists, toJsonText } from '../json.js';
import { failureKey, finalPartKey, manifestKey, QUARANTINE_EXT, runDir } from '../keys.js';
import type { PlanHeader } from '../plan.js';
import type { RunStores } from '../outputLayout.js';
import { mark } from '../timeline.js';
import type { StagedObject } from './listStaged.js';
import type { BatchManifest } from './manifest.js';
import { publishParts, type Publication } from './publishParts.js';
import type { ShardCommit } from './records.js';
import { removeOrphanAttempts } from './removeOrphanAttempts.js';
import { removeStaleParts } from './removeStaleParts.js';
import { runKeyOf } from './runKey.js';

/** What publishing needs of the plan: the run, and where its data and quarantined rows go. */
export type PublishedPlan = Pick<PlanHeader, 'runId' | 'batchDate' | 'model' | 'job'>;

export interface PublishRunOptions {
  /** Requests in flight at most, in each batch of requests. */
  limit: number;
  /** Everything the attempts staged (listStaged), listed after the commit records were read. */
  staged: readonly StagedObject[];
  /**
   * A complete run is replaced (merge --force, or a damaged run repaired): its manifest goes first, so the output
   * never looks complete half-way.
   */
  replacing?: boolean;
  /** The manifest, made once every part is in place (its finished_at is the manifest's time). */
  manifestOf: () => BatchManifest;
}

export interface Published {
  manifest: BatchManifest;
  manifestUri: string;
  /** True when another merge of this run wrote the manifest first (this one's copies landed on the same keys). */
  alreadyComplete: boolean;
}

/**
 * copy → manifest → clean, once the commits are verified: each committed part is copied from the bookkeeping store
 * where it was staged to its final key in the table or the quarantine (one request a part), parts an earlier run left
 * in the run folders go, `_batch_manifest.json` is written last (in the records, by exclusive create), and then what
 * the attempts staged goes (with the failure record of an earlier try), since nothing refers to it any more. Killed
 * at any point before the manifest, a rerun publishes exactly once, from the same staged copies; killed after it, the
 * next merge finds the run complete and removes what is left.
 */
export async function publishRun(
  stores: RunStores,
  plan: PublishedPlan,
  commits: readonly ShardCommit[],
  opts: PublishRunOptions,
): Promise<Published> {
  const { table, books, records, quarantine: q } = stores;
  const run = runKeyOf(plan);
  const mKey = manifestKey(run);
  const { limit } = opts;
  const { data, quarantine } = publicationsOf(plan, commits);
  const staged = stagedSizes(opts.staged);
  if (opts.replacing) await records.delete(mKey);
  mark('merge checked');
  await publishParts(books, data, { limit, staged, into: table });
  await publishParts(books, quarantine, { limit, staged, into: q });
  await removeStaleParts(table, runDir(run), new Set(data.map((p) => p.to)), /^part-.*\.parquet$/, limit);
  await removeStaleParts(
    q,
    runDir(run),
    new Set(quarantine.map((p) => p.to)),
    new RegExp(`^part-.*\\${QUARANTINE_EXT}$`),
    limit,
  );
  mark('published');
  const manifest = opts.manifestOf();
  // An exclusive create: of two runs of one job and date merging at once, exactly one commits.
  if (!(await records.putIfAbsent(mKey, toJsonText(manifest)))) {
    const other = await readJsonIfExists<BatchManifest>(records, mKey);
    if (other?.run_id === plan.runId)
      return { manifest: other, manifestUri: records.uriOf(mKey), alreadyComplete: true };
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${records.uriOf(mKey)}: another run (${other?.run_id ?? 'unknown'}) committed this output first; this run's ` +
        `parts were not published`,
    );
  }
  mark('manifest written');
  await records.deleteMany([failureKey(run)]);
  await removeOrphanAttempts(books, opts.staged, limit);
  return { manifest, manifestUri: records.uriOf(mKey), alreadyComplete: false };
}

/**
 * Lays out the quarantined rows alone, where the user will look for them, when the run is not published (too many
 * invalid rows): their staged copies stay for the merge that publishes.
 */
export async function publishQuarantine(
  stores: Pick<RunStores, 'books' | 'quarantine'>,
  plan: PublishedPlan,
  commits: readonly ShardCommit[],
  opts: Pick<PublishRunOptions, 'limit' | 'staged'>,
): Promise<string> {
  await publishParts(stores.books, publicationsOf(plan, commits).quarantine, {
    limit: opts.limit,
    staged: stagedSizes(opts.staged),
    into: stores.quarantine,
  });
  return stores.quarantine.uriOf(runDir(runKeyOf(plan)));
}

/**
 * Pure: where each committed part goes. Data parts below the table's run folder; quarantine parts below the
 * quarantine's (`to` relative to that root).
 */
export function publicationsOf(
  plan: PublishedPlan,
  commits: readonly ShardCommit[],
): { data: Publication[]; quarantine: Publication[] } {
  const run = runKeyOf(plan);
  const to = (c: ShardCommit, files: ShardCommit['files']) =>
    files.map((f) => ({ from: f.key, to: finalPartKey(run, c.shard, f.key), bytes: f.bytes }));
  return {
    data: commits.flatMap((c) => to(c, c.files)),
    quarantine: commits.flatMap((c) => to(c, c.quarantineFiles)),
  };
}

function stagedSizes(staged: readonly StagedObject[]): Map<string, number> {
  return new Map(staged.map((o) => [o.key, o.size]));
}
