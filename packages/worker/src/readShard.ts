import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  csvDelimiter,
  openParquet,
  streamParquet,
  type ObjectStore,
  numericColumns,
  readAhead,
  readColumns,
  readCsvRecords,
  storeConcurrency,
  type PlanHeader,
  type ShardFile,
  type ShardPiece,
  type ShardRecord,
} from '@batchscore/core';
import { readLines } from './readLines.js';
import { TextBatch } from './TextBatch.js';

/**
 * Streams a shard as Arrow tables of at most `batchSize` rows, holding only the columns the job reads:
 * model features, columns with a validation range and passthrough columns (hive partition values filled in as
 * strings). CSV and JSONL rows go through TextBatch: a value that is not a number reads as NaN with its reason in
 * TEXT_ISSUE_COLUMN, and an integer past 2^53 is kept exactly in EXACT_INTS_COLUMN too.
 */
export async function* readShard(
  plan: PlanHeader,
  shard: ShardRecord,
  inputStore: ObjectStore,
  batchSize: number,
  textColumns: readonly string[] = [],
): AsyncGenerator<arrow.Table> {
  const features = numericColumns(plan.job, textColumns);
  const needed = readColumns(plan.job);
  const split = (file: ShardFile) => ({
    hiveCols: needed.filter((c) => c in file.partitionValues),
    fileCols: needed.filter((c) => !(c in file.partitionValues)),
  });
  if (plan.format === 'parquet') {
    // Files are fetched ahead of the one being read: storage concurrency's worth of small files, or 256 MiB of large
    // ones.
    const opened = readAhead(
      shard.pieces as ParquetPiece[],
      (piece) => openPiece(inputStore, shard.files[piece.file]!, piece),
      {
        count: storeConcurrency(plan.job),
        bytes: READ_AHEAD_BYTES,
        sizeOf: (piece) => (piece.bytes ? piece.bytes[1] - piece.bytes[0] : shard.files[piece.file]!.size),
        release: (o) => o.pf.free(),
      },
    );
    for await (const { piece, pf } of opened) {
      const file = shard.files[piece.file]!;
      const { hiveCols, fileCols } = split(file);
      try {
        for await (const t of readParquetPiece(inputStore, file, pf, piece, fileCols, batchSize))
          yield withHive(normalize(t), file, hiveCols);
      } finally {
        pf.free();
      }
    }
    return;
  }
  for (const piece of shard.pieces) {
    if ('rowGroupStart' in piece)
      throw new BatchscoreError('INTERNAL', `shard ${shard.index}: a row-group piece in a ${plan.format} plan`);
    const file = shard.files[piece.file]!;
    const { hiveCols, fileCols } = split(file);
    const batches =
      plan.format === 'csv'
        ? readCsvPiece(
            inputStore,
            file,
            piece.byteStart,
            piece.byteEnd,
            fileCols,
            features,
            csvDelimiter(file.key, plan.job.spec.input.csv.delimiter),
            batchSize,
          )
        : readJsonlPiece(inputStore, file, piece.byteStart, piece.byteEnd, fileCols, features, batchSize);
    for await (const t of batches) yield withHive(normalize(t), file, hiveCols);
  }
}

type ParquetFile = Awaited<ReturnType<typeof openParquet>>;
type ParquetPiece = Extract<ShardPiece, { rowGroupStart: number }>;
const READ_AHEAD_BYTES = 256 << 20;

/** Opens a piece's file holding only its row groups and the tail (on S3), as the plan recorded them. */
async function openPiece(
  store: ObjectStore,
  file: ShardFile,
  piece: ParquetPiece,
): Promise<{ piece: ParquetPiece; pf: ParquetFile }> {
  const layout = {
    size: file.size,
    ...(file.tailStart !== undefined ? { tailStart: file.tailStart } : {}),
    ranges: piece.bytes ? [piece.bytes] : [],
  };
  return { piece, pf: await openParquet(store, file.key, layout) };
}

async function* readParquetPiece(
  store: ObjectStore,
  file: ShardFile,
  pf: ParquetFile,
  piece: ParquetPiece,
  cols: string[],
  batchSize: number,
) {
  const { rowGroupStart: rg0, rowGroupEnd: rg1 } = piece;
  const rowGroups = Array.from({ length: rg1 - rg0 }, (_, i) => rg0 + i);
  try {
    yield* streamParquet(pf, {
      rowGroups,
      columns: cols,
      batchSize,
      where: `${store.uriOf(file.key)}: row groups ${rg0}-${rg1 - 1}`,
    });
  } catch (err) {
    if (err instanceof BatchscoreError) throw err;
    const why = String((err as Error)?.message ?? err).split('\n')[0]!;
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${store.uriOf(file.key)}: cannot read row groups ${rg0}-${rg1 - 1} (${why})`,
      { cause: err },
    );
  }
}

/** Dictionary-encoded strings become plain strings, so parts from every shard share one schema. */
function normalize(t: arrow.Table): arrow.Table {
  if (!t.schema.fields.some((f) => arrow.DataType.isDictionary(f.type))) return t;
  const cols: Record<string, arrow.Vector> = {};
  for (const f of t.schema.fields) {
    const v = t.getChild(f.name)!;
    cols[f.name] = arrow.DataType.isDictionary(f.type)
      ? arrow.vectorFromArray(
          Array.from({ length: v.length }, (_, i) => v.get(i)),
          (f.type as arrow.Dictionary).dictionary,
        )
      : v;
  }
  return new arrow.Table(cols);
}

function withHive(t: arrow.Table, file: ShardFile, hiveCols: string[]): arrow.Table {
  if (hiveCols.length === 0) return t;
  const cols: Record<string, arrow.Vector> = {};
  for (const f of t.schema.fields) cols[f.name] = t.getChild(f.name)!;
  for (const c of hiveCols)
    cols[c] = arrow.vectorFromArray(new Array<string>(t.numRows).fill(file.partitionValues[c]!), new arrow.Utf8());
  return new arrow.Table(cols);
}

async function* readCsvPiece(
  store: ObjectStore,
  file: ShardFile,
  start: number,
  end: number,
  cols: string[],
  features: string[],
  delim: string,
  batchSize: number,
) {
  const header = file.header!;
  const idx = cols.map((c) => header.indexOf(c));
  const batch = new TextBatch(cols, features, batchSize);
  const uri = store.uriOf(file.key);
  // The range that starts the file starts with the header: its first record that is not blank.
  let headerToSkip = start === 0;
  const full: arrow.Table[] = [];
  const onRecord = (fields: string[], at: number, blank: boolean) => {
    if (blank) return;
    if (headerToSkip) {
      headerToSkip = false;
      return;
    }
    if (fields.length !== header.length) {
      throw new BatchscoreError(
        'INPUT_INVALID',
        `${uri} at byte ${at}: ${fields.length} fields, but the header has ${header.length}`,
      );
    }
    for (let j = 0; j < cols.length; j++) batch.setText(cols[j]!, fields[idx[j]!]!);
    batch.n++;
    if (batch.full) full.push(batch.take());
  };
  for await (const _ of readCsvRecords(store, file.key, file.size, start, end, delim, uri, onRecord)) {
    yield* full.splice(0);
  }
  if (batch.n > 0) yield batch.take();
}

async function* readJsonlPiece(
  store: ObjectStore,
  file: ShardFile,
  start: number,
  end: number,
  cols: string[],
  features: string[],
  batchSize: number,
) {
  const batch = new TextBatch(cols, features, batchSize);
  for await (const [line, offset] of readLines(store, file.key, file.size, start, end)) {
    if (line.trim() === '') continue;
    const where = () => `${store.uriOf(file.key)} at byte ${offset}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (err) {
      throw new BatchscoreError('INPUT_INVALID', `${where()}: not a JSON line (${(err as Error).message})`);
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
      throw new BatchscoreError('INPUT_INVALID', `${where()}: expected a JSON object per line`);
    const o = rec as Record<string, unknown>;
    for (const c of cols) batch.setJson(c, o[c], line);
    batch.n++;
    if (batch.full) yield batch.take();
  }
  if (batch.n > 0) yield batch.take();
}
