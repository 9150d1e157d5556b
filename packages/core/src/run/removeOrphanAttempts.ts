import type { RunKey } from './runKey.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import { listStaged, type StagedObject } from './listStaged.js';

/**
 * Once the manifest is written nothing refers to what the attempts staged: the published parts' staged copies and
 * records, the files of parts that were not committed (a crash, a race lost), the attempts' claims and end records.
 * They go in batched deletes (1,000 keys a request on S3), with `alsoRemove` (the failure record of an earlier try).
 * Shard commits stay: they say which parts and attempts were published.
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
 * behind goes now, for one listing. Only attempts up to the last one each shard published are removed: a later
 * attempt is a `score --force` after the merge, whose parts a `merge --force` is yet to publish.
 */
export async function removeLeftoverAttempts(
  store: ObjectStore,
  run: RunKey,
  published: readonly { index: number; attempt: number; attempts?: readonly { attempt: number }[] }[],
  limit: number,
): Promise<void> {
  const attemptOf = new Map(
    published.map((s) => [s.index, Math.max(s.attempt, ...(s.attempts ?? []).map((a) => a.attempt))]),
  );
  const left = (await listStaged(store, run)).filter((o) => o.attempt <= (attemptOf.get(o.shard) ?? 0));
  await store.deleteMany(
    left.map((o) => o.key),
    { concurrency: limit },
  );
}
