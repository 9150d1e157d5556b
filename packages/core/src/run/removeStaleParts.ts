import type { ObjectStore } from '../store/ObjectStore.js';

/**
 * Parts left in the run folder by an earlier run of the same date and version would be read as this run's rows:
 * every part below `dir` that is not in `keep` goes, one listing and batched deletes (`limit` at a time).
 */
export async function removeStaleParts(
  store: ObjectStore,
  dir: string,
  keep: ReadonlySet<string>,
  part: RegExp,
  limit: number,
): Promise<void> {
  const stale = (await store.list(dir)).filter(
    (o) => part.test(o.key.slice(o.key.lastIndexOf('/') + 1)) && !keep.has(o.key),
  );
  await store.deleteMany(
    stale.map((o) => o.key),
    { concurrency: limit },
  );
}
