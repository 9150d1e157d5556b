import { openAsBlob } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as PW from 'parquet-wasm/node';
import { BatchscoreError } from './errors.js';
import { mapLimit } from './mapLimit.js';
import type { ObjectStore } from './store/ObjectStore.js';

let counter = 0;
const RANGE_CONCURRENCY = 4;

/**
 * A remote Parquet object as a sparse local file holding only what is read: the footer and the chosen row
 * groups, each at its real offset (the holes take no disk or memory). Every byte comes through the store, so
 * S3 reads get the SDK's retries; parquet-wasm's own HTTP reader panics on a failed request. Row groups lie
 * back to back after the 4-byte magic, so their offsets follow from the footer's compressed sizes; a file laid
 * out otherwise is read whole instead.
 */
export async function openRemoteParquet(
  pw: typeof PW,
  store: ObjectStore,
  key: string,
  rowGroups?: number[],
): Promise<{ file: PW.ParquetFile; cleanup: () => Promise<void> }> {
  const info = await store.head(key);
  if (!info) throw new BatchscoreError('STORE_NOT_FOUND', `${store.uriOf(key)}: no such object`);
  const size = info.size;
  const where = store.uriOf(key);
  if (size < 12) throw new BatchscoreError('INPUT_INVALID', `${where}: not a readable Parquet file (${size} bytes)`);
  const file = path.join(tmpdir(), `batchscore-${process.pid}-${counter++}.parquet`);
  const fh = await open(file, 'w+');
  const cleanup = async () => {
    await unlink(file).catch(() => {});
  };
  try {
    await fh.truncate(size);
    const tail = await store.getRange(key, size - 8, size);
    if (new TextDecoder().decode(tail.subarray(4)) !== 'PAR1') throw new BatchscoreError('INPUT_INVALID', `${where}: not a readable Parquet file (no PAR1 footer magic)`);
    const footerLen = new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true);
    if (footerLen + 12 > size) throw new BatchscoreError('INPUT_INVALID', `${where}: not a readable Parquet file (footer length ${footerLen} for ${size} bytes)`);
    // The footer, and before it the page indexes that arrow-style writers put between the data and the footer
    // (parquet-wasm reads them on open): most often well within 1 MiB.
    const tailStart = Math.max(4, size - 8 - footerLen - (1 << 20));
    await write(fh, await store.getRange(key, tailStart, size), tailStart);
    await write(fh, await store.getRange(key, 0, 4), 0);
    let groups: number[];
    try {
      const meta = await pw.ParquetFile.fromFile(await openAsBlob(file));
      groups = meta.metadata().rowGroups().map((g) => g.compressedSize());
      meta.free();
    } catch {
      // Larger indexes than the tail held, or another layout: read it all.
      await readWhole(store, key, fh, size);
      await fh.close();
      return { file: await fromFile(pw, file, where), cleanup };
    }
    const offsets = [4];
    for (const g of groups) offsets.push(offsets[offsets.length - 1]! + g);
    const dataEnd = offsets[offsets.length - 1]!;
    if (dataEnd > size - 8 - footerLen) {
      await readWhole(store, key, fh, size);
    } else {
      if (dataEnd < tailStart) await write(fh, await store.getRange(key, dataEnd, tailStart), dataEnd);
      if (rowGroups && rowGroups.length > 0) {
        await mapLimit(rowGroups, RANGE_CONCURRENCY, async (g) => {
          const start = offsets[g]!;
          const end = offsets[g + 1]!;
          if (end > start && start < tailStart) await write(fh, await store.getRange(key, start, Math.min(end, tailStart)), start);
        });
      }
    }
    await fh.close();
    return { file: await fromFile(pw, file, where), cleanup };
  } catch (err) {
    await fh.close().catch(() => {});
    await cleanup();
    throw err;
  }
}

/** The whole object, for files whose row groups are not laid out back to back. */
export async function readWhole(store: ObjectStore, key: string, fh: import('node:fs/promises').FileHandle, size: number): Promise<void> {
  const step = 8 << 20;
  for (let at = 0; at < size; at += step) await write(fh, await store.getRange(key, at, Math.min(size, at + step)), at);
}

async function fromFile(pw: typeof PW, file: string, where: string): Promise<PW.ParquetFile> {
  try {
    return await pw.ParquetFile.fromFile(await openAsBlob(file));
  } catch (err) {
    throw new BatchscoreError('INPUT_INVALID', `${where}: not a readable Parquet file (${String((err as Error)?.message ?? err).split('\n')[0]})`, { cause: err });
  }
}

async function write(fh: import('node:fs/promises').FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
}
