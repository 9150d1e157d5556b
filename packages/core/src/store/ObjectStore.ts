/**
 * One interface over local disk and S3. A store is rooted at a location (a directory, or a bucket plus prefix);
 * keys are '/'-separated paths relative to that root. Every write is atomic: a reader sees the old object,
 * the whole new one, or nothing.
 */
/** Most keys one S3 DeleteObjects request may name. */
export const DELETE_BATCH = 1000;

export interface ObjectInfo {
  /** Relative to the store's root. */
  key: string;
  size: number;
  /**
   * What changes whenever the object's bytes do: its ETag on S3, its modification time (nanoseconds) on disk.
   * Absent where a store cannot tell.
   */
  version?: string;
}

/** How a read is pinned: `version` (ObjectInfo.version) fails the read with INPUT_CHANGED if the object changed. */
export interface ReadOptions {
  version?: string;
}

export interface ObjectStore {
  /** The root as a URI (`file:///abs/dir/` or `s3://bucket/prefix/`), always ending in '/'. */
  readonly rootUri: string;
  /** Every object below `prefix` (recursively), sorted by key. `prefix` '' lists the whole root. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Undefined when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Whole object. Throws BatchscoreError STORE_NOT_FOUND when absent. */
  get(key: string): Promise<Uint8Array>;
  /**
   * Bytes [start, end) of the object; with `opts.version`, only if it is still that version (S3: If-Match; disk: the
   * file's modification time, read from the handle after the bytes), else INPUT_CHANGED.
   */
  getRange(key: string, start: number, end: number, opts?: ReadOptions): Promise<Uint8Array>;
  /** Streams the object (for files larger than memory). */
  getStream(key: string): Promise<ReadableStream<Uint8Array>>;
  /** Atomic write (local: temp file + rename; S3: single or multipart upload). */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Atomic create that fails when the key exists: returns false then (local: O_EXCL link; S3: If-None-Match: *). */
  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean>;
  /** Moves an object within this store (local: rename; S3: copy then delete). */
  move(fromKey: string, toKey: string): Promise<void>;
  /**
   * Copies an object within this store and leaves the source: one request on S3 (CopyObject, server-side), no
   * extra disk locally (a hard link under a temp name, renamed over the target; a byte copy where links fail).
   * Atomic at the target, as put is. Throws STORE_NOT_FOUND when the source is absent.
   */
  copy(fromKey: string, toKey: string): Promise<void>;
  /**
   * Copies object `fromKey` of `source` (another store, or this one) to `toKey` here, atomic at the target as put is:
   * as `copy` does where both stores are of one kind (local disk: a hard link; S3 through one client: CopyObject,
   * the bytes never leave S3), else read and written. Throws STORE_NOT_FOUND when the source is absent.
   */
  copyFrom(source: ObjectStore, fromKey: string, toKey: string): Promise<void>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Deletes every key (absent ones are fine), as few requests as the store allows (S3: DeleteObjects, up to
   * DELETE_BATCH keys each), at most `concurrency` (default 1) of them at once. Each key is deleted or not; a batch
   * is not atomic.
   */
  deleteMany(keys: string[], opts?: { concurrency?: number }): Promise<void>;
  /** Full URI of a key, for messages and manifests. */
  uriOf(key: string): string;
}
