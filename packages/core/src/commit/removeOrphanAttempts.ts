import type { RunKey } from '../keys.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import { listStaged, type StagedObject } from './listStaged.js';

/**
 * Once the manifest is written nothing refers to what the attempts staged: the published parts' staged copies, the
 * parts of attempts that lost (a retry racing a pod thought lost, a crash before the commit) and the attempts'
 * claims. They go in batched deletes (1,000 keys a request on S3), with `alsoRemove` (the failure record of an
 * earlier try). Commit records stay: they say which attempt was published.
 */
export async function removeOrphanAttempts(
  store: ObjectStore,
  staged: readonly StagedObject[],
  limit: number,
  alsoRemove: string[] = [],
): Promise<void> {
  await store.deleteMany([...alsoRemove, ...staged.map((o) => o.key)], { concurrency: limit });
}

/**
 * For a run already complete: what a merge killed while removing the staged objects (after its manifest) left
 * behind goes now, for one listing. Only attempts up to the one each shard published are removed: a later attempt
 * is a `score --force` after the merge, whose parts a `merge --force` is yet to publish.
 */
export async function removeLeftoverAttempts(
  store: ObjectStore,
  run: RunKey,
  published: readonly { index: number; attempt: number }[],
  limit: number,
): Promise<void> {
  const attemptOf = new Map(published.map((s) => [s.index, s.attempt]));
  const left = (await listStaged(store, run)).filter((o) => o.attempt <= (attemptOf.get(o.shard) ?? 0));
  await store.deleteMany(
    left.map((o) => o.key),
    { concurrency: limit },
  );
}
