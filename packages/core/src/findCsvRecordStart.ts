import { csvQuoteError, MAX_QUOTED_FIELD_BYTES } from './csvParser.js';

const QUOTE = 34;
const CR = 13;
const LF = 10;

/** How far past a cut findCsvRecordStart reads before it calls the cut ambiguous. */
export const CSV_SYNC_WINDOW = MAX_QUOTED_FIELD_BYTES + (64 << 10);

// A reader's state before a byte, as far as where records start is concerned.
const FIELD_START = 0; // a quote here opens a quoted field
const IN_FIELD = 1; // an unquoted field: a quote is text
const IN_QUOTES = 2;
const QUOTE_IN_QUOTES = 3; // just after a quote inside quotes: a second quote is an escaped one

interface Run {
  state: number;
  /** Bytes of a multi-byte delimiter still to pass. */
  skip: number;
  /** Where its open quoted field opened (a lower bound for a field open before the window). */
  quoteAt: number;
  /** The starting states it stands for (runs that meet in one state go on as one). */
  members: number[];
}

export type RecordStartSearch = { at: number } | { more: true } | { ambiguous: true };

/**
 * Pure: where the records of a CSV file start at or after the byte `base` (buf holds the file from there), without
 * the bytes before it: the first offset that is a record start whatever state a reader was in at `base` (between
 * fields, in an unquoted field, inside quotes, just after a quote inside quotes). It follows a reader from each of
 * those states in step; a state that would hold a quoted field longer than MAX_QUOTED_FIELD_BYTES is dropped, since
 * that file is refused anyway (CsvParser); when the readers left agree on a record start, that is the answer. The
 * shard before a cut reads up to this offset and the shard after it reads from it, so both ask here and every
 * record is read once. `more`: buf ends before an answer (and is not the file's end); `ambiguous`: quoting keeps
 * two readings apart for CSV_SYNC_WINDOW bytes (lines of lone quotes), and only the file's start can tell
 * (csvRecordStartFromFileStart). At the file's end (`eof`), the answer is the end.
 */
export function findCsvRecordStart(buf: Uint8Array, base: number, delim: Uint8Array, eof: boolean): RecordStartSearch {
  // The common file has no quotes: no reading can be inside one, and the first line break ends a record.
  if (buf.length > MAX_QUOTED_FIELD_BYTES && buf.subarray(0, MAX_QUOTED_FIELD_BYTES + 1).indexOf(QUOTE) < 0) {
    const lf = buf.indexOf(LF);
    const cr = buf.indexOf(CR);
    const t = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
    if (t >= 0) return { at: base + t + 1 };
    return eof ? { at: base + buf.length } : { more: true };
  }
  const d0 = delim[0]!;
  const dl = delim.length;
  const starts: number[][] = [[], [], [], []];
  const runs: Run[] = [FIELD_START, IN_FIELD, IN_QUOTES, QUOTE_IN_QUOTES].map((state, k) => ({
    state,
    skip: 0,
    quoteAt: base,
    members: [k],
  }));
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    const abs = base + i;
    let delimHere = b === d0;
    for (let k = 1; delimHere && k < dl; k++) delimHere = buf[i + k] === delim[k];
    let boundary = false;
    for (const r of runs) {
      if (r.skip > 0) {
        r.skip--;
        continue;
      }
      const s = r.state;
      if (s === IN_QUOTES) {
        if (b === QUOTE) r.state = QUOTE_IN_QUOTES;
        continue;
      }
      if (s === QUOTE_IN_QUOTES && b === QUOTE) r.state = IN_QUOTES;
      else if (s === FIELD_START && b === QUOTE) {
        r.state = IN_QUOTES;
        r.quoteAt = abs;
      } else if (b === CR || b === LF) {
        r.state = FIELD_START;
        for (const m of r.members) starts[m]!.push(abs + 1);
        boundary = true;
      } else if (delimHere) {
        r.state = FIELD_START;
        r.skip = dl - 1;
      } else r.state = IN_FIELD;
    }
    // Drop readings that would hold an over-long quoted field; merge those that have met (rare: no allocation
    // on the way for the bytes where nothing changes).
    const before = runs.length;
    for (let a = runs.length - 1; a >= 0; a--) {
      const r = runs[a]!;
      if ((r.state === IN_QUOTES || r.state === QUOTE_IN_QUOTES) && abs + 1 - r.quoteAt > MAX_QUOTED_FIELD_BYTES)
        runs.splice(a, 1);
    }
    for (let a = 0; a < runs.length; a++) {
      for (let c = runs.length - 1; c > a; c--) {
        const x = runs[a]!;
        const y = runs[c]!;
        if (x.state !== y.state || x.skip !== y.skip) continue;
        x.members.push(...y.members);
        x.quoteAt = Math.max(x.quoteAt, y.quoteAt);
        runs.splice(c, 1);
      }
    }
    if (runs.length === 0) return { ambiguous: true };
    if (runs.length === 1 && (boundary || before > 1)) {
      const at = firstCommon(runs[0]!.members.map((m) => starts[m]!));
      if (at !== undefined) return { at };
    } else if (runs.length > 1 && i + 1 >= CSV_SYNC_WINDOW) return { ambiguous: true };
  }
  if (eof) return { at: base + buf.length };
  return { more: true };
}

/** The smallest value in every (ascending) list, or undefined. */
function firstCommon(lists: number[][]): number | undefined {
  for (const v of lists[0]!) if (lists.every((l) => l.includes(v))) return v;
  return undefined;
}

/** A reader's state as scanCsvRecordStart carries it from one buffer to the next. */
export interface CsvScanState {
  state: number;
  quoteAt: number;
  skip: number;
  /** At the start of a record (not only of a field). */
  atRecord: boolean;
}

export function newCsvScanState(): CsvScanState {
  return { state: FIELD_START, quoteAt: 0, skip: 0, atRecord: true };
}

/**
 * Pure, for the ambiguous case: a reader that follows the file from its start (`st` carries between calls; buf is
 * the file from `base`). Returns the first record start at or after `pos`, or how many bytes of buf it consumed
 * (all but a possible partial delimiter at the end, unless `eof`). Throws as CsvParser does for a quoted field
 * longer than MAX_QUOTED_FIELD_BYTES, so the shards on both sides of a cut agree.
 */
export function scanCsvRecordStart(
  buf: Uint8Array,
  base: number,
  delim: Uint8Array,
  pos: number,
  st: CsvScanState,
  eof: boolean,
  where: string,
): { at: number } | { consumed: number } {
  const d0 = delim[0]!;
  const end = eof ? buf.length : Math.max(0, buf.length - (delim.length - 1));
  for (let i = 0; i < end; i++) {
    const abs = base + i;
    if (st.atRecord && st.skip === 0 && abs >= pos) return { at: abs };
    const b = buf[i]!;
    if (st.skip > 0) {
      st.skip--;
      continue;
    }
    const s = st.state;
    if (s === IN_QUOTES) {
      if (b === QUOTE) st.state = QUOTE_IN_QUOTES;
      else if (abs + 1 - st.quoteAt > MAX_QUOTED_FIELD_BYTES) throw csvQuoteError(where, st.quoteAt, 'long');
      continue;
    }
    st.atRecord = false;
    if (s === QUOTE_IN_QUOTES && b === QUOTE) st.state = IN_QUOTES;
    else if (s === FIELD_START && b === QUOTE) {
      st.state = IN_QUOTES;
      st.quoteAt = abs;
    } else if (b === CR || b === LF) {
      st.state = FIELD_START;
      st.atRecord = true;
    } else if (b === d0 && delim.every((x, k) => buf[i + k] === x)) {
      st.state = FIELD_START;
      st.skip = delim.length - 1;
    } else st.state = IN_FIELD;
  }
  if (eof && st.state === IN_QUOTES) throw csvQuoteError(where, st.quoteAt, 'eof');
  return eof ? { at: base + buf.length } : { consumed: end };
}
