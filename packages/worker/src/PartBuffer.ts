import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  newFeatureStats,
  SketchBuilder,
  toParquetBytes,
  type FeatureStats,
  type InputPosition,
  type PartBytes,
  type PartToWrite,
  type Sketch,
  type Build,
} from '@batchscore/core';

/**
 * The rows of one part while they are scored: scored rows by output partition, quarantined rows, and what they come
 * to (feature statistics, prediction sketches, invalid counts). A part is at most rowsPerPart input rows, so this
 * holds at most that many rows, whatever the shard's size; `toPart` encodes them as the part's files, one per
 * output partition (none for a partition without rows) and one of quarantined rows when there are some.
 */
export class PartBuffer {
  end: InputPosition;
  rowsOut = 0;
  rowsQuarantined = 0;
  readonly invalidCounts: Record<string, number> = {};
  readonly features: Record<string, FeatureStats>;
  readonly predictions: Record<string, SketchBuilder>;
  private readonly data = new Map<string, arrow.Table[]>();
  private readonly quarantined: arrow.Table[] = [];
  private readonly startedAt = new Date();
  private readonly t0 = performance.now();

  constructor(
    readonly start: InputPosition,
    o: { features: string[]; predictions: string[] },
  ) {
    this.end = start;
    this.features = Object.fromEntries(o.features.map((c) => [c, newFeatureStats()]));
    this.predictions = Object.fromEntries(o.predictions.map((c) => [c, new SketchBuilder()]));
  }

  /** Input rows read into this part, quarantined ones counted. */
  get rowsIn(): number {
    return this.end.row - this.start.row;
  }

  addScored(partition: string, table: arrow.Table): void {
    const list = this.data.get(partition);
    if (list) list.push(table);
    else this.data.set(partition, [table]);
    this.rowsOut += table.numRows;
  }

  addQuarantined(table: arrow.Table): void {
    this.quarantined.push(table);
    this.rowsQuarantined += table.numRows;
  }

  /** The part to hand to the shard writer: its files encoded (partitions in name order), its totals. */
  toPart(o: {
    metadata: Record<string, string>;
    executionProvider: string;
    batchSize?: number;
    peakRssBytes?: number;
    /** Which build scores the part: the pod's image, the worker's Node and onnxruntime. */
    build?: Build;
  }): PartToWrite {
    if (this.rowsIn !== this.rowsOut + this.rowsQuarantined)
      throw new BatchscoreError(
        'INTERNAL',
        `rows ${this.start.row}-${this.end.row - 1}: read ${this.rowsIn} rows but wrote ${this.rowsOut} and ` +
          `quarantined ${this.rowsQuarantined}`,
      );
    const bytes: PartBytes[] = [];
    let columns: { name: string; type: string }[] | undefined;
    for (const partition of [...this.data.keys()].sort()) {
      const table = new arrow.Table(this.data.get(partition)!.flatMap((t) => t.batches));
      columns ??= table.schema.fields.map((f) => ({ name: f.name, type: String(f.type) }));
      bytes.push({ kind: 'data', partition, bytes: toParquetBytes(table, o.metadata), rows: table.numRows });
    }
    if (this.quarantined.length > 0) {
      const table = new arrow.Table(this.quarantined.flatMap((t) => t.batches));
      bytes.push({ kind: 'quarantine', partition: '', bytes: toParquetBytes(table, o.metadata), rows: table.numRows });
    }
    return {
      start: this.start,
      end: this.end,
      bytes,
      rowsOut: this.rowsOut,
      rowsQuarantined: this.rowsQuarantined,
      ...(columns ? { columns } : {}),
      invalidCounts: this.invalidCounts,
      quality: { features: this.features, predictions: sketchesOf(this.predictions) },
      executionProvider: o.executionProvider,
      ...o.build,
      ...(o.batchSize ? { batchSize: o.batchSize } : {}),
      ...(o.peakRssBytes ? { peakRssBytes: o.peakRssBytes } : {}),
      startedAt: this.startedAt,
      durationS: (performance.now() - this.t0) / 1000,
    };
  }
}

/** The prediction columns' sketches, leaving out columns with no value to chart (list outputs, no rows). */
function sketchesOf(builders: Record<string, SketchBuilder>): Record<string, Sketch> {
  const out: Record<string, Sketch> = {};
  for (const [c, b] of Object.entries(builders)) {
    const sk = b.toSketch();
    if (sk.count > 0) out[c] = sk;
  }
  return out;
}
