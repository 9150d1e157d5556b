import { BatchscoreError } from './errors.js';

/**
 * The longest quoted field a CSV file may hold, quotes included. Why a limit: a worker that starts reading at a
 * byte inside a file cannot tell a line break inside a quoted field from one between records without the bytes
 * before it; with quoted fields bounded, it can (findCsvRecordStart), by reading at most this much past its
 * start. Python's csv module refuses fields past 128 KiB by default; 1 MiB is kinder to long texts.
 */
export const MAX_QUOTED_FIELD_BYTES = 1 << 20;

const QUOTE = 34;
const CR = 13;
const LF = 10;

/**
 * Takes each record as it is parsed: its fields, the absolute byte offset of its first byte, and whether it is
 * blank (nothing on the line but blanks, unquoted: readers skip it, as pandas and Python's csv skip blank lines; a
 * CRLF read as CR then LF leaves one too). A callback, not a list: a list of a chunk's records held at once costs
 * more in garbage collection than the parsing does (measured: 3× the time on 225k rows).
 */
export type OnCsvRecord = (fields: string[], start: number, blank: boolean) => void;

/**
 * Pure: CSV records as RFC 4180 and Python's csv module (default dialect, which pandas follows) read them:
 * fields split on the delimiter; a field that starts with a quote is quoted, may hold the delimiter, line breaks
 * and doubled quotes (""), and ends at the next lone quote, after which any text up to the delimiter or line break
 * is kept as it is; a quote anywhere else is an ordinary character (6" screen stays 6" screen); records end at
 * LF, CRLF or CR. The same parser reads headers (the planner) and rows (workers), so they cannot disagree.
 */
export class CsvParser {
  private readonly delimStr: string;
  private readonly d0: number;
  private readonly decoder = new TextDecoder();

  /** `where` names the file in messages; `size` is its length (to tell its end from the end of a range). */
  constructor(
    private readonly delim: Uint8Array,
    private readonly where: string,
    private readonly size: number,
  ) {
    this.delimStr = this.decoder.decode(delim);
    this.d0 = delim[0]!;
  }

  /**
   * Hands each whole record in buf (whose first byte is at absolute offset `base`) from index `from` to `onRecord`,
   * and returns the index where the first record not yet whole starts (buf.length when none). With `final`, buf ends
   * where records end: a last record without a line break is whole, and a quote still open is an error.
   */
  parse(buf: Uint8Array, base: number, from: number, final: boolean, onRecord: OnCsvRecord): number {
    let p = from;
    // Where the next quote and CR are, from p on (-1: none left in buf); kept between lines, so a file with none
    // is searched once, not once a line.
    let nextQuote = -2;
    let nextCR = -2;
    while (p < buf.length) {
      const nl = buf.indexOf(LF, p);
      if (nextQuote !== -1 && nextQuote < p) nextQuote = buf.indexOf(QUOTE, p);
      if (nextCR !== -1 && nextCR < p) nextCR = buf.indexOf(CR, p);
      const lineEnd = nl < 0 ? buf.length : nl;
      const crlf = nl > p && nextCR === nl - 1;
      const plain = !(nextQuote !== -1 && nextQuote < lineEnd) && !(nextCR !== -1 && nextCR < lineEnd && !crlf);
      if (plain && nl < 0 && !final) break;
      if (plain) {
        // The common line: no quote and no lone CR, so its fields are its text split on the delimiter.
        const fields = this.decoder.decode(buf.subarray(p, crlf ? nl - 1 : lineEnd)).split(this.delimStr);
        onRecord(fields, base + p, fields.length === 1 && fields[0]!.trim() === '');
        p = nl < 0 ? buf.length : nl + 1;
        continue;
      }
      const r = this.record(buf, base, p, final);
      if (!r) break;
      onRecord(r.fields, base + p, !r.quoted && r.fields.length === 1 && r.fields[0]!.trim() === '');
      p = r.next;
    }
    return p;
  }

  /** One record from p, byte by byte; undefined when buf ends before it does (and is not final). */
  private record(
    buf: Uint8Array,
    base: number,
    p: number,
    final: boolean,
  ): { fields: string[]; quoted: boolean; next: number } | undefined {
    const n = buf.length;
    const fields: string[] = [];
    let quoted = false;
    let i = p;
    for (;;) {
      let text = '';
      if (i < n && buf[i] === QUOTE) {
        quoted = true;
        const open = i;
        const parts: string[] = [];
        let seg = ++i;
        for (;;) {
          const q = buf.indexOf(QUOTE, i);
          if (q >= 0 && q - open + 1 > MAX_QUOTED_FIELD_BYTES) throw this.tooLong(base + open);
          if (q < 0 || (q === n - 1 && !final)) {
            // Not closed in buf, or closed at its very end where a second quote (an escaped one) may follow.
            if (n - open > MAX_QUOTED_FIELD_BYTES) throw this.tooLong(base + open);
            if (!final) return undefined;
            if (q < 0) throw this.notClosed(base + open, base + n);
          }
          if (q + 1 < n && buf[q + 1] === QUOTE) {
            parts.push(this.decoder.decode(buf.subarray(seg, q + 1)));
            i = seg = q + 2;
            continue;
          }
          parts.push(this.decoder.decode(buf.subarray(seg, q)));
          i = q + 1;
          break;
        }
        text = parts.join('');
      }
      // Unquoted text (or what follows a closing quote): up to the delimiter or a line break, quotes and all.
      const s = i;
      while (i < n && buf[i] !== CR && buf[i] !== LF && !this.delimAt(buf, i)) i++;
      if (i > s) text += this.decoder.decode(buf.subarray(s, i));
      if (i >= n) {
        if (!final) return undefined;
        fields.push(text);
        return { fields, quoted, next: n };
      }
      fields.push(text);
      if (buf[i] !== CR && buf[i] !== LF) {
        i += this.delim.length;
        continue;
      }
      let next = i + 1;
      if (buf[i] === CR) {
        if (next >= n && !final) return undefined;
        if (buf[next] === LF) next++;
      }
      return { fields, quoted, next };
    }
  }

  private delimAt(buf: Uint8Array, i: number): boolean {
    if (buf[i] !== this.d0) return false;
    for (let k = 1; k < this.delim.length; k++) if (buf[i + k] !== this.delim[k]) return false;
    return true;
  }

  private tooLong(at: number): BatchscoreError {
    return csvQuoteError(this.where, at, 'long');
  }

  private notClosed(at: number, end: number): BatchscoreError {
    return csvQuoteError(this.where, at, end < this.size ? 'long' : 'eof');
  }
}

/** The two ways a quoted field can break the rules, named with the file and the byte where it opens. */
export function csvQuoteError(where: string, at: number, why: 'long' | 'eof'): BatchscoreError {
  return new BatchscoreError(
    'INPUT_INVALID',
    why === 'eof'
      ? `${where}: the quoted field that opens at byte ${at} is not closed before the end of the file`
      : `${where}: the quoted field that opens at byte ${at} is longer than ${MAX_QUOTED_FIELD_BYTES} bytes, ` +
          `the most a quoted CSV field may hold (so that shards can find where records start)`,
  );
}
