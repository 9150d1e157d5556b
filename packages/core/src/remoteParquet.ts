import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as PW from 'parquet-wasm/node';
import { BatchscoreError } from './errors.js';
import { FileBlob } from './FileBlob.js';
import { mapLimit } from './mapLimit.js';
import type { ObjectStore } from './store/ObjectStore.js';

let counter = 0;
/** Ranged GETs in flight for one file; a shard reads several files ahead (readShard), so this stays small. */
const RANGE_CONCURRENCY = 4;
/** Largest single ranged GET: a large row group is fetched as several, concurrently. */
const CHUNK_BYTES = 8 << 20;
/**
 * The planner's first read of a footer: the object's last 64 KiB. It holds the footer, its length and, before it,
 * the page indexes arrow-style writers put between the data and the footer (parquet-wasm reads them on open) for
 * all but large files; a small file is read whole by it. One request per file, where a HEAD and three ranged GETs
 * were four.
 */
const FIRST_TAIL_BYTES = 64 << 10;
/**
 * The second try, for larger footers: the footer and, before it, as much again or 1 MiB, whichever is more (page
 * indexes grow with the row groups and pages the footer describes). Past that the file is read whole.
 */
const SECOND_TAIL_BYTES = 1 << 20;

/** Where a Parquet file's bytes are, from the plan: its size, where its tail starts, and the data ranges to read. */
export interface ParquetLayout {
  size: number;
  /** Start of the bytes after the last row group (InputFile.tailStart); absent: not known, read the file whole. */
  tailStart?: number;
  /** Byte ranges [start, end) of the row groups to read. */
  ranges: [number, number][];
  /**
   * The version the plan recorded (InputFile.version): every read of the object is of that version or fails with
   * INPUT_CHANGED (S3: If-Match on each ranged GET; a local file: its modification time, on open and after reads).
   */
  version?: string;
}

/**
 * A remote object as a sparse local file of its size that holds only the bytes written to it (the holes take no
 * disk or memory), for parquet-wasm's `fromFile`. Every byte comes through the store, so S3 reads get the SDK's
 * retries; parquet-wasm's own HTTP reader panics on a failed request.
 */
class SparseCopy {
  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
  ) {}
  static async create(size: number): Promise<SparseCopy> {
    const file = path.join(tmpdir(), `batchscore-${process.pid}-${counter++}.parquet`);
    const fh = await open(file, 'w+');
    const copy = new SparseCopy(file, fh);
    try {
      await fh.truncate(size);
    } catch (err) {
      await copy.cleanup();
      throw err;
    }
    return copy;
  }
  async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length)
      done += (await this.fh.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
  }
  /**
   * Fetches [start, end) of `key` into the copy, in chunks of at most CHUNK_BYTES, RANGE_CONCURRENCY at a time; with
   * `version`, only of that version (ReadOptions).
   */
  async fetch(store: ObjectStore, key: string, ranges: [number, number][], version?: string): Promise<void> {
    const chunks: [number, number][] = [];
    for (const [s, e] of ranges)
      for (let at = s; at < e; at += CHUNK_BYTES) chunks.push([at, Math.min(e, at + CHUNK_BYTES)]);
    const opts = version !== undefined ? { version } : {};
    await mapLimit(chunks, RANGE_CONCURRENCY, async ([s, e]) => this.write(await store.getRange(key, s, e, opts), s));
  }
  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
  async cleanup(): Promise<void> {
    await this.close();
    await unlink(this.file).catch(() => {});
  }
}

/**
 * Opens a remote Parquet object for a worker. With the layout the plan recorded, it fetches exactly the tail
 * (page indexes and footer) and the row groups asked for: adjacent ranges are one request, so a small file read
 * whole is one GET. Without a known layout it reads the whole object.
 */
export async function openRemoteParquet(
  pw: typeof PW,
  store: ObjectStore,
  key: string,
  layout?: ParquetLayout,
): Promise<{ file: PW.ParquetFile; cleanup: () => Promise<void> }> {
  const where = store.uriOf(key);
  const size = layout?.size ?? (await sizeOf(store, key));
  const copy = await SparseCopy.create(size);
  try {
    if (layout?.tailStart !== undefined) {
      await copy.write(PAR1, 0);
      await copy.fetch(store, key, coalesce([...layout.ranges, [layout.tailStart, size]]), layout.version);
    } else {
      await copy.fetch(store, key, [[0, size]], layout?.version);
    }
    await copy.close();
    return await fromCopy(pw, copy, where);
  } catch (err) {
    await copy.cleanup();
    throw err;
  }
}

/**
 * What the planner reads of a remote Parquet object: its footer (and the page indexes before it), usually with one
 * suffix GET. Returns the opened footer; `cleanup` removes the local copy.
 */
export async function openRemoteFooter(
  pw: typeof PW,
  store: ObjectStore,
  key: string,
  size: number,
): Promise<{ file: PW.ParquetFile; footerLen: number; cleanup: () => Promise<void> }> {
  const where = store.uriOf(key);
  if (size < 12) throw new BatchscoreError('INPUT_INVALID', `${where}: not a readable Parquet file (${size} bytes)`);
  const copy = await SparseCopy.create(size);
  try {
    let from = Math.max(0, size - FIRST_TAIL_BYTES);
    const tail = await store.getRange(key, from, size);
    await copy.write(tail, from);
    if (new TextDecoder().decode(tail.subarray(tail.length - 4)) !== 'PAR1')
      throw new BatchscoreError('INPUT_INVALID', `${where}: not a readable Parquet file (no PAR1 footer magic)`);
    const footerLen = new DataView(tail.buffer, tail.byteOffset + tail.length - 8, 4).getUint32(0, true);
    if (footerLen + 12 > size)
      throw new BatchscoreError(
        'INPUT_INVALID',
        `${where}: not a readable Parquet file (footer length ${footerLen} for ${size} bytes)`,
      );
    if (from > 0) await copy.write(PAR1, 0);
    // Each try fetches only what the last did not: the footer and what may lie before it, then the rest.
    const tries = [from, Math.max(0, size - 8 - footerLen - Math.max(footerLen, SECOND_TAIL_BYTES)), 0];
    for (const start of tries) {
      if (start < from) {
        await copy.fetch(store, key, [[start, from]]);
        from = start;
      }
      try {
        const opened = await openCopy(pw, copy);
        await copy.close();
        return { ...opened, footerLen };
      } catch (err) {
        // The page indexes reach further back than fetched (or the file is corrupt: the whole read says which).
        if (from === 0) throw notParquet(where, err);
      }
    }
    throw new BatchscoreError('INTERNAL', `${where}: footer search ended without reading the whole file`);
  } catch (err) {
    await copy.cleanup();
    throw err;
  }
}

const PAR1 = new TextEncoder().encode('PAR1');

/** Merges ranges that touch or overlap, in order: one request for adjacent row groups and the tail after them. */
export function coalesce(ranges: [number, number][]): [number, number][] {
  const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

async function sizeOf(store: ObjectStore, key: string): Promise<number> {
  const info = await store.head(key);
  if (!info) throw new BatchscoreError('STORE_NOT_FOUND', `${store.uriOf(key)}: no such object`);
  return info.size;
}

async function fromCopy(
  pw: typeof PW,
  copy: SparseCopy,
  where: string,
): Promise<{ file: PW.ParquetFile; cleanup: () => Promise<void> }> {
  try {
    return await openCopy(pw, copy);
  } catch (err) {
    throw notParquet(where, err);
  }
}

/** The local copy opened for parquet-wasm; `cleanup` closes it and removes it. */
async function openCopy(
  pw: typeof PW,
  copy: SparseCopy,
): Promise<{ file: PW.ParquetFile; cleanup: () => Promise<void> }> {
  const blob = await FileBlob.open(copy.file);
  try {
    const file = await pw.ParquetFile.fromFile(blob as unknown as Blob);
    return { file, cleanup: () => blob.close().finally(() => copy.cleanup()) };
  } catch (err) {
    await blob.close();
    throw err;
  }
}

function notParquet(where: string, err: unknown): BatchscoreError {
  return new BatchscoreError(
    'INPUT_INVALID',
    `${where}: not a readable Parquet file (${String((err as Error)?.message ?? err).split('\n')[0]})`,
    { cause: err },
  );
}
