import { BatchscoreError } from '../errors.js';
import { mapLimit } from '../mapLimit.js';
import type { ObjectStore } from '../store/ObjectStore.js';

/** One committed part to publish. */
export interface Publication {
  /** Its staged key, in the output store. */
  from: string;
  /** Its final key, in the store it is published into. */
  to: string;
  /** Its size as its commit recorded it. */
  bytes: number;
}

export interface PublishOptions {
  /** Requests in flight at most. */
  limit: number;
  /**
   * Size of each staged object (from listStaged, listed after the commit records were read, so every committed part
   * that exists is in it): the check that a staged part is whole costs no request of its own.
   */
  staged: ReadonlyMap<string, number>;
  /** The store the parts are published into (the table, or the quarantine). */
  into: ObjectStore;
}

/**
 * Publishes committed parts from the bookkeeping store they were staged in: each staged part is copied to its final
 * key, one request a part (S3 CopyObject; local: a hard link; across kinds of store, read and written: copyFrom),
 * `limit` at a time. The staged copies stay until the manifest is written, so a merge killed here reruns from the
 * same sources, and the final keys only ever receive the committed bytes.
 *
 * A merge that got further (a resumed one, or two merges of the same run racing) may have published a part and
 * removed its staged copy: a source that is gone counts as published when its final key holds the committed size.
 */
export async function publishParts(books: ObjectStore, parts: Publication[], opts: PublishOptions): Promise<void> {
  const target = opts.into;
  const landed = async (p: Publication) => {
    if ((await target.head(p.to))?.size !== p.bytes)
      throw new BatchscoreError('RUN_INVALID', `${books.uriOf(p.from)}: committed part is missing`);
  };
  await mapLimit(parts, opts.limit, async (p) => {
    const size = opts.staged.get(p.from);
    if (size === undefined) return landed(p);
    if (size !== p.bytes)
      throw new BatchscoreError(
        'RUN_INVALID',
        `${books.uriOf(p.from)}: ${size} bytes, but its commit recorded ${p.bytes}`,
      );
    try {
      await target.copyFrom(books, p.from, p.to);
    } catch (err) {
      // Removed since the listing by a merge of the same run that finished first: fine if it landed.
      if (!(err instanceof BatchscoreError && err.code === 'STORE_NOT_FOUND')) throw err;
      await landed(p);
    }
  });
}
