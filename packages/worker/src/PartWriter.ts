import * as arrow from 'apache-arrow';
import {
  sha256Hex,
  stagedPartKey,
  toParquetBytes,
  type ObjectStore,
  type PartFile,
  type PartKind,
  type RunKey,
} from '@batchscore/core';

/**
 * Buffers scored rows per output partition and writes a Parquet part when a buffer reaches `rowsPerPart`
 * (or when all buffers together do), so memory stays bounded whatever the shard's size. No part holds more
 * than `rowsPerPart` rows.
 */
export class PartWriter {
  private readonly buffers = new Map<string, { tables: arrow.Table[]; rows: number }>();
  private buffered = 0;
  private seq = 0;
  /** The part being uploaded while the next batches score; at most one, so memory stays bounded. */
  private inFlight: Promise<void> | undefined;
  readonly files: PartFile[] = [];
  /**
   * The parts' columns as Arrow names their types (every part of a writer has one schema); unset until one is written.
   */
  columns: { name: string; type: string }[] | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly run: RunKey,
    private readonly shard: number,
    private readonly attempt: number,
    private readonly rowsPerPart: number,
    private readonly metadata: Record<string, string>,
    /** Quarantine parts are staged (and published) apart from the data, under their own names. */
    private readonly kind: PartKind = 'data',
  ) {}

  async add(partition: string, table: arrow.Table): Promise<void> {
    // A table may be larger than a part (read batches follow the input's row groups): it is cut, since
    // rowsPerPart is a maximum that bounds the memory of whoever reads a part.
    for (let off = 0; off < table.numRows;) {
      let b = this.buffers.get(partition);
      if (!b) this.buffers.set(partition, (b = { tables: [], rows: 0 }));
      const n = Math.min(table.numRows - off, this.rowsPerPart - b.rows);
      b.tables.push(n === table.numRows ? table : table.slice(off, off + n));
      b.rows += n;
      this.buffered += n;
      off += n;
      if (b.rows >= this.rowsPerPart) await this.flush(partition);
      while (this.buffered >= this.rowsPerPart) await this.flush(this.largest());
    }
  }

  /** Flushes every buffer and waits until every part is durable: only then may the shard commit. */
  async close(): Promise<void> {
    for (const p of [...this.buffers.keys()].sort()) await this.flush(p);
    await this.inFlight;
    this.inFlight = undefined;
  }

  private largest(): string {
    let best = '';
    let rows = -1;
    for (const [p, b] of this.buffers) if (b.rows > rows) [best, rows] = [p, b.rows];
    return best;
  }

  private async flush(partition: string): Promise<void> {
    const b = this.buffers.get(partition);
    if (!b || b.rows === 0) return;
    this.buffers.delete(partition);
    this.buffered -= b.rows;
    const table = new arrow.Table(b.tables.flatMap((t) => t.batches));
    const bytes = toParquetBytes(table, this.metadata);
    this.columns ??= table.schema.fields.map((f) => ({ name: f.name, type: String(f.type) }));
    // The manifest's checksum of each file: SHA-256 of its bytes, the same whichever store or reader.
    const sha256 = sha256Hex(bytes);
    const key = stagedPartKey(this.run, this.shard, this.attempt, partition, this.seq++, this.kind);
    // Upload in the background (S3 latency overlaps the next batches), one part at a time.
    await this.inFlight;
    const upload = this.store.put(key, bytes).then(() => {
      this.files.push({ key, rows: b.rows, bytes: bytes.length, sha256 });
    });
    // A failed upload surfaces at the next await (next flush or close), not as an unhandled rejection meanwhile.
    upload.catch(() => {});
    this.inFlight = upload;
  }
}
