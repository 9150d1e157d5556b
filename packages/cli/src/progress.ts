import type { Shard } from '@batchscore/core';
import { formatProgress } from './formatProgress.js';

// Where formatRun.ts and summary.ts have always imported them from.
export { fmtBytes, fmtInt, fmtSeconds } from './fmt.js';

/**
 * One-line progress on a TTY for `run --local`: a bar, percentage and ETA, rows, rows/s, shards; fitted to the
 * terminal's width at each redraw (formatProgress). Silent elsewhere, so logs stay clean.
 */
export class Progress {
  private readonly t0: number;
  private last = 0;
  private rowsByShard: ReadonlyMap<number, number> = new Map();
  private done_: ReadonlySet<number> = new Set();
  private readonly shardBytes: number[];

  constructor(
    private readonly plan: { totalRows: number | null; shards: readonly Shard[] },
    private readonly out: { write(s: string): unknown; columns?: number } = process.stderr,
    private readonly enabled = Boolean(process.stderr.isTTY),
    private readonly now: () => number = Date.now,
  ) {
    this.t0 = now();
    this.shardBytes = plan.shards.map(shardByteSize);
  }

  /** `rowsByShard`: rows read so far by every shard started (workers report them); `done`: the shards finished. */
  update(rowsByShard: ReadonlyMap<number, number>, done: ReadonlySet<number>): void {
    this.rowsByShard = rowsByShard;
    this.done_ = done;
    const now = this.now();
    if (!this.enabled || now - this.last < 100) return;
    this.last = now;
    this.render(now);
  }

  done(): void {
    if (!this.enabled) return;
    this.render(this.now());
    this.out.write('\n');
  }

  private render(now: number): void {
    let rows = 0;
    for (const r of this.rowsByShard.values()) rows += r;
    const line = formatProgress(
      {
        rows,
        totalRows: this.plan.totalRows,
        fraction: fractionDone(this.plan.totalRows, this.shardBytes, this.rowsByShard, this.done_),
        elapsedSeconds: (now - this.t0) / 1000,
        shardsDone: this.done_.size,
        shards: this.plan.shards.length,
      },
      // 80 where a stream does not say (a TTY always does; it updates on a resize).
      this.out.columns || 80,
    );
    this.out.write(`\r${line}\x1b[K`);
  }
}

/** The input bytes a shard reads: its CSV/JSONL byte ranges (Parquet pieces: their row groups' bytes, when known). */
export function shardByteSize(shard: Shard): number {
  let n = 0;
  for (const p of shard.pieces) {
    if ('byteStart' in p) n += p.byteEnd - p.byteStart;
    else if (p.bytes) n += p.bytes[1] - p.bytes[0];
  }
  return n;
}

/**
 * How much of the run is done, 0..1, or null when nothing tells. Parquet: rows read over the plan's rows.
 * CSV/JSONL have no row count before they are read, but the plan knows each shard's bytes: a finished shard
 * counts its bytes, and a shard in progress its rows times the bytes per row of the finished ones (workers report
 * rows, not bytes), up to its size. Until a first shard finishes, shards in progress count nothing.
 */
export function fractionDone(
  totalRows: number | null,
  shardBytes: readonly number[],
  rowsByShard: ReadonlyMap<number, number>,
  done: ReadonlySet<number>,
): number | null {
  if (totalRows !== null) {
    let rows = 0;
    for (const r of rowsByShard.values()) rows += r;
    return totalRows > 0 ? Math.min(1, rows / totalRows) : done.size >= shardBytes.length ? 1 : 0;
  }
  const totalBytes = shardBytes.reduce((a, b) => a + b, 0);
  if (shardBytes.length === 0) return null;
  if (totalBytes === 0) return done.size / shardBytes.length;
  let doneBytes = 0;
  let doneRows = 0;
  for (const i of done) {
    doneBytes += shardBytes[i] ?? 0;
    doneRows += rowsByShard.get(i) ?? 0;
  }
  const bytesPerRow = doneRows > 0 ? doneBytes / doneRows : 0;
  let started = 0;
  for (const [i, rows] of rowsByShard) if (!done.has(i)) started += Math.min(shardBytes[i] ?? 0, rows * bytesPerRow);
  return Math.min(1, (doneBytes + started) / totalBytes);
}
