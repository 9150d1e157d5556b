import type { ObjectStore } from '@batchscore/core';

const CHUNK = 4 << 20;

/**
 * Lines whose first byte lies in [start, end) of an object, read in ranged chunks (never the whole file).
 * A line that starts before `start` belongs to the previous range, so each line is read by exactly one shard.
 * Yields [line, byteOffsetOfLine].
 */
export async function* readLines(
  store: ObjectStore,
  key: string,
  size: number,
  start: number,
  end: number,
): AsyncGenerator<[string, number]> {
  const decoder = new TextDecoder();
  let pos = start === 0 ? 0 : start - 1; // absolute offset of buf[0]
  let buf = new Uint8Array(0);
  let skipping = start > 0; // drop the tail of the line that started in the previous range
  let lineStart = pos;
  let readTo = pos;
  while (true) {
    let nl: number;
    let from = 0;
    while ((nl = buf.indexOf(10, from)) >= 0) {
      const absEnd = pos + nl;
      if (skipping) {
        skipping = false;
      } else {
        if (lineStart >= end) return;
        let line = buf.subarray(from, nl);
        if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
        yield [decoder.decode(line), lineStart];
      }
      lineStart = absEnd + 1;
      from = nl + 1;
    }
    buf = buf.subarray(from);
    pos += from;
    if (lineStart >= end && !skipping) return;
    if (readTo >= size) break;
    const next = await store.getRange(key, readTo, Math.min(size, readTo + CHUNK));
    readTo += next.length;
    if (next.length === 0) break;
    const joined = new Uint8Array(buf.length + next.length);
    joined.set(buf);
    joined.set(next, buf.length);
    buf = joined;
  }
  if (!skipping && buf.length > 0 && lineStart < end) {
    let line = buf;
    if (line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    yield [decoder.decode(line), lineStart];
  }
}

/** Splits one CSV line (RFC 4180 quoting; fields may not span lines). */
export function splitCsvLine(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else q = false;
      } else cur += c;
    } else if (c === '"') q = true;
    else if (c === delimiter) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
