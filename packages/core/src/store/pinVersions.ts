import type { ObjectInfo, ObjectStore, ReadOptions } from './ObjectStore.js';

/**
 * A view of a store whose ranged reads of the given keys are pinned to the versions a plan recorded
 * (ObjectInfo.version): each then fails with INPUT_CHANGED rather than read another file than the one the plan cut
 * into shards. The text readers read through it unaware; the Parquet reader is given the version in its layout.
 */
export function pinVersions(store: ObjectStore, versions: ReadonlyMap<string, string>): ObjectStore {
  if (versions.size === 0) return store;
  const pin = (key: string, opts?: ReadOptions): ReadOptions | undefined => {
    const version = opts?.version ?? versions.get(key);
    return version !== undefined ? { version } : opts;
  };
  return {
    rootUri: store.rootUri,
    list: (prefix: string): Promise<ObjectInfo[]> => store.list(prefix),
    head: (key) => store.head(key),
    get: (key) => store.get(key),
    getRange: (key, start, end, opts) => store.getRange(key, start, end, pin(key, opts)),
    getStream: (key) => store.getStream(key),
    put: (key, body) => store.put(key, body),
    putIfAbsent: (key, body) => store.putIfAbsent(key, body),
    move: (from, to) => store.move(from, to),
    copy: (from, to) => store.copy(from, to),
    copyFrom: (source, from, to) => store.copyFrom(source, from, to),
    delete: (key) => store.delete(key),
    deleteMany: (keys, opts) => store.deleteMany(keys, opts),
    uriOf: (key) => store.uriOf(key),
  };
}
