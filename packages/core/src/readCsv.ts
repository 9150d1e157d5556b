import { CsvParser, MAX_QUOTED_FIELD_BYTES, type OnCsvRecord } from './csvParser.js';
import { BatchscoreError } from './errors.js';
import {
  CSV_SYNC_WINDOW,
  findCsvRecordStart,
  newCsvScanState,
  scanCsvRecordStart,
  type RecordStartSearch,
} from './findCsvRecordStart.js';
import type { ObjectStore } from './store/index.js';

const CHUNK = 4 << 20;
const BOM = [0xef, 0xbb, 0xbf];

/** Where a UTF-8 byte order mark leaves the file's first record (readers skip it, as pandas and DuckDB do). */
function bomLength(head: Uint8Array): number {
  return head.length >= 3 && BOM.every((b, i) => head[i] === b) ? 3 : 0;
}

/**
 * Where the records of a CSV object start at or after byte `pos` (findCsvRecordStart): reads a window from there
 * (widened while a long record leaves it open), or in the rare ambiguous case follows the file from its start.
 * The shards on both sides of a cut call this with the same `pos`, so they meet at the same record.
 */
export async function csvRecordStart(
  store: ObjectStore,
  key: string,
  size: number,
  pos: number,
  delim: Uint8Array,
  where: string,
): Promise<number> {
  if (pos <= 0) return 0;
  if (pos >= size) return size;
  // The whole window at once: in a file without quotes the answer needs all of it (findCsvRecordStart).
  let want = Math.min(size, pos + CSV_SYNC_WINDOW);
  let found: RecordStartSearch;
  for (;;) {
    const buf = await store.getRange(key, pos, want);
    found = findCsvRecordStart(buf, pos, delim, want >= size);
    if (!('more' in found)) break;
    want = Math.min(size, pos + 2 * (want - pos));
  }
  if ('at' in found) return found.at;
  // Lines of lone quotes keep two readings apart: only the bytes before can tell which is right.
  const st = newCsvScanState();
  let at = bomLength(await store.getRange(key, 0, Math.min(size, 3)));
  for (;;) {
    const end = Math.min(size, at + CHUNK);
    const r = scanCsvRecordStart(await store.getRange(key, at, end), at, delim, pos, st, end >= size, where);
    if ('at' in r) return r.at;
    at += r.consumed;
  }
}

/**
 * Hands the records of a CSV object that start in [start, end) of its bytes to `onRecord`, reading the range in
 * ranged chunks (never the whole file), and yields after each chunk (so the caller can pass on what it gathered).
 * The range is moved to record starts first (csvRecordStart), so a record that spans a cut, line breaks inside
 * quotes included, is read by exactly one shard. The header is a record like the others: the caller skips it (in
 * the range that starts at 0).
 *
 * With `fromRecord`, `start` is already a record start, one this parser began a record at (where a committed part of
 * the range ended, as onRecord reported it): reading starts there as it is. csvRecordStart would move it on to the
 * next record start, since it finds one past a cut, never the cut itself.
 */
export async function* readCsvRecords(
  store: ObjectStore,
  key: string,
  size: number,
  start: number,
  end: number,
  delimiter: string,
  where: string,
  onRecord: OnCsvRecord,
  opts: { fromRecord?: boolean } = {},
): AsyncGenerator<void> {
  const delim = new TextEncoder().encode(delimiter);
  const from = opts.fromRecord ? start : await csvRecordStart(store, key, size, start, delim, where);
  const to = end >= size ? size : await csvRecordStart(store, key, size, end, delim, where);
  if (from >= to) return;
  const parser = new CsvParser(delim, where, size);
  let buf = new Uint8Array(0);
  let base = from; // absolute offset of buf[0]
  let readTo = from;
  let skip = 0;
  while (readTo < to) {
    const next = await store.getRange(key, readTo, Math.min(to, readTo + CHUNK));
    if (next.length === 0) {
      throw new BatchscoreError(
        'INPUT_INVALID',
        `${where}: ends at byte ${readTo}, before the ${size} bytes the plan listed; the input changed after planning`,
      );
    }
    if (readTo === 0) skip = bomLength(next);
    readTo += next.length;
    const joined = new Uint8Array(buf.length + next.length);
    joined.set(buf);
    joined.set(next, buf.length);
    buf = joined;
    const rest = parser.parse(buf, base, skip, readTo >= to, onRecord);
    skip = 0;
    buf = buf.subarray(rest);
    base += rest;
    yield;
  }
  if (buf.length > 0) {
    throw new BatchscoreError('INTERNAL', `${where}: ${buf.length} bytes at byte ${base} left unparsed at ${to}`);
  }
}

/** The most bytes a CSV header (with any blank lines before it) may take: 1 MiB, and a quoted name's most. */
export const CSV_HEADER_MAX_BYTES = (1 << 20) + MAX_QUOTED_FIELD_BYTES;

/** The header of a CSV object: the fields of its first record that is not blank, read up to CSV_HEADER_MAX_BYTES. */
export async function readCsvHeaderRecord(
  store: ObjectStore,
  key: string,
  size: number,
  delimiter: string,
  where: string,
): Promise<string[] | undefined> {
  const limit = Math.min(size, CSV_HEADER_MAX_BYTES);
  const parser = new CsvParser(new TextEncoder().encode(delimiter), where, size);
  let want = Math.min(limit, 64 << 10);
  for (;;) {
    const buf = await store.getRange(key, 0, want);
    let header: string[] | undefined;
    parser.parse(buf, 0, bomLength(buf), want >= size, (fields, _start, blank) => {
      if (!blank) header ??= fields;
    });
    if (header || want >= limit) return header;
    want = Math.min(limit, want * 4);
  }
}
