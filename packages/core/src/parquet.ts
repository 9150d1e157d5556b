import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as arrow from 'apache-arrow';
import { parseRecordBatch } from 'arrow-js-ffi';
import type * as PW from 'parquet-wasm/node';
import { BatchscoreError } from './errors.js';
import { FileBlob } from './FileBlob.js';
import { unreadableSchema } from './unreadableSchema.js';
import { openRemoteFooter, openRemoteParquet, type ParquetLayout } from './remoteParquet.js';
import type { ObjectStore } from './store/ObjectStore.js';
import { LocalStore } from './store/LocalStore.js';
import { toParquetTypes } from './toParquetTypes.js';

export type { ParquetLayout } from './remoteParquet.js';

// parquet-wasm's node build is CommonJS that instantiates its WebAssembly on load; require it once, lazily,
// so commands that never touch Parquet do not pay the start-up.
let pwModule: typeof PW | undefined;
export function parquetWasm(): typeof PW {
  pwModule ??= createRequire(import.meta.url)('parquet-wasm/node') as typeof PW;
  return pwModule;
}

/**
 * What the Parquet decoder is reading now. parquet-wasm aborts on some corrupt data with a WebAssembly
 * RuntimeError thrown outside any promise we hold, so no try/catch sees it; the process-level handler reports
 * it with this, naming the file and row groups, instead of a bare "unreachable".
 */
let reading: string | undefined;

/**
 * A WebAssembly abort of the Parquet decoder as a permanent input error naming what was being read; undefined for
 * any other error. The decoder is unusable afterwards, so the process must still exit.
 */
export function toDecoderAbort(err: unknown): BatchscoreError | undefined {
  if (!(err instanceof WebAssembly.RuntimeError)) return undefined;
  // A file that changed under the decoder is what made it abort (it read bytes of two files).
  if (FileBlob.lastChanged instanceof BatchscoreError) return FileBlob.lastChanged;
  return new BatchscoreError(
    'INPUT_INVALID',
    `${reading ?? 'a Parquet file'}: the Parquet decoder aborted (${err.message}): the ` +
      `data is corrupt, or the decoder ran out of memory`,
    { cause: err },
  );
}

/**
 * Opens a Parquet object for reading. Local files are read in place (`fromFile`, ranged by the blob). Remote ones
 * are fetched through the store into a sparse local file: with the `layout` a plan recorded, only the tail and the
 * row groups it names; without one, the whole object. Call `free()` on the result when done; it also removes the
 * local copy.
 */
export async function openParquet(store: ObjectStore, key: string, layout?: ParquetLayout): Promise<PW.ParquetFile> {
  const pw = parquetWasm();
  if (!store.rootUri.startsWith('file:')) return withCleanup(await openRemoteParquet(pw, store, key, layout));
  return openLocal(pw, store, key, layout?.version);
}

/** A local file, read in place; with `version` (a plan's), checked on open and after each read (FileBlob). */
async function openLocal(pw: typeof PW, store: ObjectStore, key: string, version?: string): Promise<PW.ParquetFile> {
  if (!(store instanceof LocalStore))
    throw new BatchscoreError('INTERNAL', `${store.uriOf(key)}: a file: URI from a store that is not local`);
  if ((await store.head(key)) === undefined)
    throw new BatchscoreError('STORE_NOT_FOUND', `${store.uriOf(key)}: no such file`);
  let blob: FileBlob | undefined;
  try {
    reading = `${store.uriOf(key)} (footer)`;
    blob = await FileBlob.open(
      store.pathOf(key),
      version !== undefined ? { uri: store.uriOf(key), version } : undefined,
    );
    const file = withCleanup({
      file: await pw.ParquetFile.fromFile(blob as unknown as Blob),
      cleanup: blob.close.bind(blob),
    });
    const opened = blob;
    pins.set(file, () => opened.changed);
    throwIfChanged(file);
    return file;
  } catch (err) {
    await blob?.close();
    if (err instanceof BatchscoreError) throw err;
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${store.uriOf(key)}: not a readable Parquet file (${String((err as Error)?.message ?? err).split('\n')[0]})`,
      { cause: err },
    );
  }
}

/** How to ask whether a pinned local file changed while it was read (FileBlob.changed), by the file opened on it. */
const pins = new WeakMap<PW.ParquetFile, () => Error | undefined>();

function throwIfChanged(file: PW.ParquetFile): void {
  const changed = pins.get(file)?.();
  if (changed) throw changed;
}

function withCleanup({ file, cleanup }: { file: PW.ParquetFile; cleanup: () => Promise<void> }): PW.ParquetFile {
  const free = file.free.bind(file);
  file.free = () => {
    free();
    // A failed close or removal of a local copy leaves nothing wrong in the run; it must not crash the process.
    cleanup().catch(() => {});
  };
  return file;
}

/** What the planner records of a Parquet file's footer: its row groups' rows and bytes, and where its tail starts. */
export interface ParquetFooter {
  schema: arrow.Schema;
  rowGroups: number[];
  rowGroupBytes: number[];
  tailStart?: number;
}

/**
 * Reads a Parquet file's footer once, for the plan: on a remote store usually one suffix GET (openRemoteFooter).
 * The row groups' compressed sizes give their byte ranges, as writers lay them back to back from byte 4; when they
 * would run into the footer the layout is something else and `tailStart` is left out (workers read the file whole).
 */
export async function readParquetFooter(store: ObjectStore, key: string, size: number): Promise<ParquetFooter> {
  const pw = parquetWasm();
  let pf: PW.ParquetFile;
  let footerLen: number;
  if (store.rootUri.startsWith('file:')) {
    pf = await openLocal(pw, store, key);
    const end = await store.getRange(key, size - 8, size);
    footerLen = new DataView(end.buffer, end.byteOffset, 4).getUint32(0, true);
  } else {
    const remote = await openRemoteFooter(pw, store, key, size);
    pf = withCleanup(remote);
    footerLen = remote.footerLen;
  }
  try {
    // The metadata objects live in WebAssembly memory, which never shrinks: left to the garbage collector, 100,000
    // footers' worth grew it by hundreds of MB before any was collected.
    const meta = pf.metadata();
    const groups = meta.rowGroups();
    const rowGroups = groups.map((g) => g.numRows());
    const rowGroupBytes = groups.map((g) => g.compressedSize());
    for (const g of groups) g.free();
    meta.free();
    const dataEnd = rowGroupBytes.reduce((a, b) => a + b, 4);
    const footerStart = size - 8 - footerLen;
    return {
      schema: schemaOnce(pf, store.uriOf(key)),
      rowGroups,
      rowGroupBytes,
      ...(dataEnd <= footerStart ? { tailStart: dataEnd } : {}),
    };
  } finally {
    pf.free();
  }
}

/**
 * A file's Arrow schema, decoded once per distinct schema: the input files of one job nearly all share one, and
 * decoding it again for each of 100,000 files made enough garbage to take the planner past 1 GB before the
 * collector ran (measured: 1.2 GB peak RSS, 440 MB under a 200 MB heap cap).
 */
function schemaOnce(file: PW.ParquetFile, where: string): arrow.Schema {
  const ipc = file.schema().intoIPCStream();
  const key = createHash('sha256').update(ipc).digest('base64');
  let schema = schemas.get(key);
  if (!schema) {
    try {
      schema = arrow.tableFromIPC(ipc).schema;
    } catch (err) {
      throw unreadableSchema(file.schema(), parquetWasm().wasmMemory(), where, err);
    }
    if (schemas.size >= 64) schemas.delete(schemas.keys().next().value!);
    schemas.set(key, schema);
  }
  return schema;
}
const schemas = new Map<string, arrow.Schema>();

/**
 * Arrow tables of the chosen row groups and columns, one wasm batch at a time. Batches cross from WebAssembly
 * over the Arrow C Data Interface: arrow-js-ffi copies each buffer once out of wasm memory into apache-arrow
 * vectors (the copy is needed: wasm memory is reused by the next decode, and detached when it grows). Serialising
 * to Arrow IPC inside wasm and parsing it again, as before, cost 0.5 s more per 10M rows of five numeric columns
 * (1.85 s against 1.35 s to decode alone). Types arrow-js-ffi is not trusted with here go through IPC.
 */
export async function* streamParquet(
  file: PW.ParquetFile,
  /** `columns`: all of them when left out. */
  opts: { rowGroups: number[]; columns?: string[]; batchSize: number; where?: string },
): AsyncGenerator<arrow.Table> {
  reading = opts.where;
  const pw = parquetWasm();
  const schema = schemaOnce(file, opts.where ?? 'a Parquet file');
  // parquet-wasm aborts ("unreachable") when asked by name for a nested column (a list or struct) whose name is
  // not plain ASCII (`中`, `és`, `𓏩` seen): such a read takes every column, and the wanted ones are picked here.
  const field = (c: string) => schema.fields.find((x) => x.name === c);
  const pick = opts.columns?.some((c) => !/^[\x20-\x7e]*$/.test(c) && isNested(field(c)?.type)) ?? false;
  const read = pick ? undefined : opts.columns;
  const ffi = (read ?? schema.fields.map((f) => f.name)).every((c) => {
    const f = field(c);
    return f !== undefined && crossesByFfi(f.type);
  });
  const wanted = (t: arrow.Table): arrow.Table => (pick ? t.select(opts.columns!) : t);
  try {
    const stream = await file.stream({
      rowGroups: opts.rowGroups,
      ...(read ? { columns: read } : {}),
      batchSize: opts.batchSize,
    });
    for await (const rb of stream as unknown as AsyncIterable<PW.RecordBatch>) {
      // Bytes read from a file that changed meanwhile are not decoded into rows that would be scored.
      try {
        throwIfChanged(file);
      } catch (err) {
        rb.free();
        throw err;
      }
      if (ffi) {
        const data = rb.intoFFI();
        let batch: arrow.RecordBatch;
        try {
          batch = parseRecordBatch(pw.wasmMemory().buffer, data.arrayAddr(), data.schemaAddr(), true);
        } finally {
          data.free();
        }
        yield wanted(new arrow.Table(batch));
      } else {
        yield wanted(arrow.tableFromIPC(rb.intoIPCStream()));
      }
      reading = opts.where;
    }
  } catch (err) {
    // A decoder that failed on the bytes of a file that changed under it failed because of that.
    throwIfChanged(file);
    throw err;
  }
}

/** A column with children (lists, structs, maps): parquet-wasm selects it by a path, not a single name. */
function isNested(t: arrow.DataType | undefined): boolean {
  return (t?.children?.length ?? 0) > 0;
}

/**
 * Column types read over the C Data Interface: numbers, booleans and strings. Dictionaries stay on IPC: the value
 * types arrow-js-ffi gives them lack what apache-arrow's builders need ("bufferType is not a constructor"). So do
 * large strings (polars writes its strings so): arrow-js-ffi hands their data over as Utf8 under a LargeUtf8 field,
 * and they were published as Utf8.
 */
function crossesByFfi(t: arrow.DataType): boolean {
  return (
    arrow.DataType.isInt(t) ||
    (arrow.DataType.isFloat(t) && t.precision !== arrow.Precision.HALF) ||
    arrow.DataType.isBool(t) ||
    arrow.DataType.isUtf8(t)
  );
}

/**
 * Serialises an Arrow table to Parquet bytes (Snappy; 128k-row groups unless told). Dictionary encoding only for
 * string columns: for ids and scores (nearly all distinct) it is pure cost — measured 300 ms against 43 ms per
 * 1M rows of (int64, float32), and larger files. Types Parquet has no annotation for (date64, timestamp[s],
 * time32[s]) are first stored as pyarrow stores them (toParquetTypes).
 */
export function toParquetBytes(
  table: arrow.Table,
  metadata?: Record<string, string>,
  rowGroupRows = 128 * 1024,
): Uint8Array {
  const pw = parquetWasm();
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.SNAPPY)
    .setMaxRowGroupSize(rowGroupRows)
    .setDictionaryEnabled(false)
    // Values handed to the column writers per step (default 1,024): measured 350 ms against 520 ms per 10M rows of
    // (int64, float32). Pages still end near the 1 MiB default, checked after each step.
    .setWriteBatchSize(WRITE_BATCH_ROWS);
  for (const f of table.schema.fields) {
    if (arrow.DataType.isUtf8(f.type) || arrow.DataType.isLargeUtf8(f.type) || arrow.DataType.isDictionary(f.type)) {
      builder = builder.setColumnDictionaryEnabled(f.name, true);
    }
  }
  if (metadata) builder = builder.setKeyValueMetadata(new Map(Object.entries(metadata)));
  const wasmTable = pw.Table.fromIPCStream(arrow.tableToIPC(toParquetTypes(table), 'stream'));
  return pw.writeParquet(wasmTable, builder.build());
}

const WRITE_BATCH_ROWS = 16_384;

export function isNumericType(t: arrow.DataType): boolean {
  // A dictionary of numbers (dictionary<int32, float64>, say) is numeric: workers decode it to its values.
  if (arrow.DataType.isDictionary(t)) return isNumericType(t.dictionary);
  return (
    arrow.DataType.isInt(t) || arrow.DataType.isFloat(t) || arrow.DataType.isDecimal(t) || arrow.DataType.isBool(t)
  );
}
