import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  csvDelimiter,
  openParquet,
  streamParquet,
  type ObjectStore,
  type InputPosition,
  START_OF_SHARD,
  numericColumns,
  pinVersions,
  readAhead,
  readColumns,
  readCsvRecords,
  storeConcurrency,
  type PlanHeader,
  type ShardFile,
  type ShardPiece,
  type ShardRecord,
} from '@batchscore/core';
import { keepFieldMetadata } from './keepFieldMetadata.js';
import { readLines } from './readLines.js';
import { decodeDictionary } from './takeRows.js';
import { TextBatch } from './TextBatch.js';

/** A batch of a shard's rows, and where in the shard's input the next row is (where a part that ends here ends). */
export interface ReadBatch {
  table: arrow.Table;
  end: InputPosition;
}

export interface ReadShardOptions {
  /** Where to start: a part's end, for an attempt that resumes after committed parts. Default: the shard's start. */
  from?: InputPosition;
  /**
   * Batches never cross a multiple of this many shard rows (the parts' boundaries), so a part ends exactly there, at
   * the same input position for every attempt.
   */
  partRows?: number;
  /** Numeric columns whose text as written is needed too (textColumnOf): CSV/JSONL keep it beside the numbers. */
  keepText?: readonly string[];
}

/**
 * Streams a shard as Arrow tables of at most `batchSize` rows, holding only the columns the job reads:
 * model features, columns with a validation range and passthrough columns (hive partition values filled in as
 * strings). CSV and JSONL rows go through TextBatch: a value that is not a number reads as NaN with its reason in
 * TEXT_ISSUE_COLUMN, and an integer past 2^53 is kept exactly in EXACT_INTS_COLUMN too; `opts.keepText` names
 * numeric columns whose text as written is needed too. Each batch comes with the input position after its last row.
 */
export async function* readShard(
  plan: PlanHeader,
  shard: ShardRecord,
  inputStore: ObjectStore,
  batchSize: number,
  textColumns: readonly string[] = [],
  opts: ReadShardOptions = {},
): AsyncGenerator<ReadBatch> {
  // Every read is of the file the plan cut into shards, or fails with INPUT_CHANGED: the text readers read through
  // a store pinned to the plan's versions (a resumed read from a recorded byte too), the Parquet reader is given each
  // file's version in its layout.
  const pinned = pinVersions(
    inputStore,
    new Map(Object.values(shard.files).flatMap((f) => (f.version !== undefined ? [[f.key, f.version]] : []))),
  );
  const features = numericColumns(plan.job, textColumns);
  const needed = readColumns(plan.job);
  const from = opts.from ?? START_OF_SHARD;
  const cuts = new Cuts(from.row, opts.partRows);
  const keepText = opts.keepText ?? [];
  const split = (file: ShardFile) => ({
    hiveCols: needed.filter((c) => c in file.partitionValues),
    fileCols: needed.filter((c) => !(c in file.partitionValues)),
  });
  if (plan.format === 'parquet') {
    const pieces = (shard.pieces as ParquetPiece[])
      .map((piece, index) => ({ piece, index }))
      // A position at the very end of a piece is the start of the next one.
      .filter(({ piece, index }) => index > from.piece || (index === from.piece && from.pieceRow < piece.rows));
    // Files are fetched ahead of the one being read: storage concurrency's worth of small files, or 256 MiB of large
    // ones.
    const opened = readAhead(
      pieces,
      async (p) => ({ ...p, pf: (await openPiece(inputStore, shard.files[p.piece.file]!, p.piece)).pf }),
      {
        count: storeConcurrency(plan.job),
        bytes: READ_AHEAD_BYTES,
        sizeOf: ({ piece }) => (piece.bytes ? piece.bytes[1] - piece.bytes[0] : shard.files[piece.file]!.size),
        release: (o) => o.pf.free(),
      },
    );
    for await (const { piece, index, pf } of opened) {
      const file = shard.files[piece.file]!;
      const { hiveCols, fileCols } = split(file);
      let pieceRow = index === from.piece ? from.pieceRow : 0;
      try {
        for await (const t of readParquetPiece(inputStore, file, pf, piece, fileCols, batchSize, pieceRow)) {
          for (const cut of cuts.cut(normalize(t, plan.columnTypes))) {
            pieceRow += cut.numRows;
            yield { table: withHive(cut, file, hiveCols), end: { row: cuts.row, piece: index, pieceRow } };
          }
        }
      } finally {
        pf.free();
      }
    }
    return;
  }
  for (let index = from.piece; index < shard.pieces.length; index++) {
    const piece = shard.pieces[index]!;
    if ('rowGroupStart' in piece)
      throw new BatchscoreError('INTERNAL', `shard ${shard.index}: a row-group piece in a ${plan.format} plan`);
    const file = shard.files[piece.file]!;
    const { hiveCols, fileCols } = split(file);
    const here = index === from.piece;
    // A recorded byte is where the reader began the next record (CSV) or line (JSONL) after a part: read from there.
    // Without one (a position at a piece's start, or none recorded) the piece is read from its start, and the rows
    // before the position skipped.
    const at = here && from.byte !== undefined ? { byte: from.byte } : { skip: here ? from.pieceRow : 0 };
    const range = { file, start: piece.byteStart, end: piece.byteEnd, at };
    const batches =
      plan.format === 'csv'
        ? readCsvPiece(
            pinned,
            range,
            fileCols,
            features,
            csvDelimiter(file.key, plan.job.spec.input.csv.delimiter),
            batchSize,
            cuts,
            keepText,
          )
        : readJsonlPiece(pinned, range, fileCols, features, batchSize, cuts, keepText);
    let pieceRow = here ? from.pieceRow : 0;
    for await (const { table, row, next } of batches) {
      pieceRow += table.numRows;
      yield {
        table: withHive(table, file, hiveCols),
        // After the piece's last row, the next row is the next piece's first.
        end: next === undefined ? { row, piece: index + 1, pieceRow: 0 } : { row, piece: index, pieceRow, byte: next },
      };
    }
  }
}

/**
 * Counts the shard's rows and cuts tables at the parts' boundaries (multiples of `partRows` shard rows), so no batch
 * crosses one.
 */
class Cuts {
  constructor(
    public row: number,
    private readonly partRows: number | undefined,
  ) {}
  /** Rows a batch may take from here before it reaches the next boundary. */
  room(): number {
    return this.partRows ? (Math.floor(this.row / this.partRows) + 1) * this.partRows - this.row : Infinity;
  }
  *cut(t: arrow.Table): Generator<arrow.Table> {
    for (let off = 0; off < t.numRows;) {
      const n = Math.min(t.numRows - off, this.room());
      // Counted before it is handed out: the reader reports `row` as the position after it.
      this.row += n;
      yield n === t.numRows ? t : t.slice(off, off + n);
      off += n;
    }
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
    ...(file.version !== undefined ? { version: file.version } : {}),
  };
  return { piece, pf: await openParquet(store, file.key, layout) };
}

/**
 * The piece's rows from `skip` on: whole row groups before it are not decoded (their row counts come from the footer),
 * and the rows of the first one read that come before it are dropped.
 */
async function* readParquetPiece(
  store: ObjectStore,
  file: ShardFile,
  pf: ParquetFile,
  piece: ParquetPiece,
  cols: string[],
  batchSize: number,
  skip = 0,
) {
  const { rowGroupStart: rg0, rowGroupEnd: rg1 } = piece;
  let first = rg0;
  if (skip > 0) {
    const meta = pf.metadata();
    try {
      while (first < rg1) {
        const group = meta.rowGroup(first);
        const n = group.numRows();
        group.free();
        if (skip < n) break;
        skip -= n;
        first++;
      }
    } finally {
      meta.free();
    }
  }
  if (first === rg1) return;
  const rowGroups = Array.from({ length: rg1 - first }, (_, i) => first + i);
  try {
    for await (const t of streamParquet(pf, {
      rowGroups,
      columns: cols,
      batchSize,
      where: `${store.uriOf(file.key)}: row groups ${rg0}-${rg1 - 1}`,
    })) {
      if (skip >= t.numRows) {
        skip -= t.numRows;
        continue;
      }
      yield skip > 0 ? t.slice(skip) : t;
      skip = 0;
    }
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

/**
 * A dictionary column stays one when the plan found it one in every file; where files differ (dictionary in some,
 * plain in others) it is decoded to its values, exactly (by index), so parts from every shard share one schema.
 */
function normalize(t: arrow.Table, columnTypes: Record<string, string>): arrow.Table {
  const decode = t.schema.fields.filter(
    (f) => arrow.DataType.isDictionary(f.type) && !(columnTypes[f.name] ?? '').startsWith('Dictionary<'),
  );
  if (decode.length === 0) return t;
  const cols: Record<string, arrow.Vector> = {};
  for (const f of t.schema.fields) {
    const v = t.getChild(f.name)!;
    cols[f.name] = decode.includes(f) ? arrow.makeVector(v.data.map(decodeDictionary)) : v;
  }
  return keepFieldMetadata(new arrow.Table(cols), t.schema, t.schema.names as string[]);
}

/** Hive partition values as string columns; Hive's null folder (`k=__HIVE_DEFAULT_PARTITION__`) as null. */
function withHive(t: arrow.Table, file: ShardFile, hiveCols: string[]): arrow.Table {
  if (hiveCols.length === 0) return t;
  const cols: Record<string, arrow.Vector> = {};
  for (const f of t.schema.fields) cols[f.name] = t.getChild(f.name)!;
  for (const c of hiveCols)
    cols[c] = arrow.vectorFromArray(
      new Array<string | null>(t.numRows).fill(file.partitionValues[c] ?? null),
      new arrow.Utf8(),
    );
  return keepFieldMetadata(new arrow.Table(cols), t.schema, t.schema.names as string[]);
}

/** Where a text piece's rows are, and where this read of it starts. */
interface TextRange {
  file: ShardFile;
  start: number;
  end: number;
  /** The byte where a record (line) after a committed part starts, or how many of the piece's rows to skip. */
  at: { byte: number } | { skip: number };
}

/**
 * A batch of text rows; the shard's rows through its last; and the byte where the piece's next record (line) starts,
 * undefined when the piece has none left.
 */
interface TextRows {
  table: arrow.Table;
  row: number;
  next?: number;
}

/**
 * Counts a row just set in `batch`; the batch, taken, when it is full or the row reached a part's boundary (then the
 * part ends with it).
 */
function addRow(batch: TextBatch, cuts: Cuts): arrow.Table | undefined {
  batch.n++;
  const boundary = cuts.room() === 1;
  cuts.row++;
  return batch.full || boundary ? batch.take() : undefined;
}

/**
 * The rows of a CSV piece (readCsvRecords: RFC 4180, records that span lines read by one shard), batched. A batch ends
 * when full or at a part's boundary (`cuts`), and is handed on once the parser starts the record after it, with that
 * record's first byte: where the parser begins a record, so an attempt resuming there reads exactly the records after
 * the part (a blank one, skipped, included).
 */
async function* readCsvPiece(
  store: ObjectStore,
  range: TextRange,
  cols: string[],
  features: string[],
  delim: string,
  batchSize: number,
  cuts: Cuts,
  keepText: readonly string[],
): AsyncGenerator<TextRows> {
  const { file } = range;
  const header = file.header!;
  const idx = cols.map((c) => header.indexOf(c));
  const batch = new TextBatch(cols, features, batchSize, keepText);
  const uri = store.uriOf(file.key);
  const resumeAt = 'byte' in range.at ? range.at.byte : undefined;
  let skip = 'skip' in range.at ? range.at.skip : 0;
  // The range that starts the file starts with the header: its first record that is not blank.
  let headerToSkip = resumeAt === undefined && range.start === 0;
  const ready: TextRows[] = [];
  let taken: { table: arrow.Table; row: number } | undefined;
  const onRecord = (fields: string[], at: number, blank: boolean) => {
    if (taken) ready.push({ ...taken, next: at });
    taken = undefined;
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
    if (skip > 0) {
      skip--;
      return;
    }
    for (let j = 0; j < cols.length; j++) batch.setText(cols[j]!, fields[idx[j]!]!);
    const table = addRow(batch, cuts);
    if (table) taken = { table, row: cuts.row };
  };
  const records =
    resumeAt === undefined
      ? readCsvRecords(store, file.key, file.size, range.start, range.end, delim, uri, onRecord)
      : readCsvRecords(store, file.key, file.size, resumeAt, range.end, delim, uri, onRecord, { fromRecord: true });
  for await (const _ of records) yield* ready.splice(0);
  yield* ready.splice(0);
  if (taken) yield taken;
  if (batch.n > 0) yield { table: batch.take(), row: cuts.row };
}

/** The rows of a JSONL piece, batched and handed on as readCsvPiece does (with the next line's first byte). */
async function* readJsonlPiece(
  store: ObjectStore,
  range: TextRange,
  cols: string[],
  features: string[],
  batchSize: number,
  cuts: Cuts,
  keepText: readonly string[],
): AsyncGenerator<TextRows> {
  const { file } = range;
  const batch = new TextBatch(cols, features, batchSize, keepText);
  let skip = 'skip' in range.at ? range.at.skip : 0;
  // A line starts at the recorded byte: readLines keeps a line that starts exactly at its `start`.
  const start = 'byte' in range.at ? range.at.byte : range.start;
  let taken: { table: arrow.Table; row: number } | undefined;
  for await (const [line, offset] of readLines(store, file.key, file.size, start, range.end)) {
    if (taken) yield { ...taken, next: offset };
    taken = undefined;
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
    if (skip > 0) {
      skip--;
      continue;
    }
    const o = rec as Record<string, unknown>;
    for (const c of cols) batch.setJson(c, o[c], line);
    const table = addRow(batch, cuts);
    if (table) taken = { table, row: cuts.row };
  }
  if (taken) yield taken;
  if (batch.n > 0) yield { table: batch.take(), row: cuts.row };
}
