import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { expect, test } from 'vitest';
import { openParquet, streamParquet, toParquetBytes } from './parquet.js';
import { LocalStore } from './store/LocalStore.js';

/** Every type streamParquet hands over the C Data Interface, with nulls (dictionaries take IPC: test/e2e/dataTypes). */
function table(n: number): arrow.Table {
  const nulls = <T>(f: (i: number) => T) => Array.from({ length: n }, (_, i) => (i % 7 === 3 ? null : f(i)));
  return new arrow.Table({
    i8: arrow.vectorFromArray(
      nulls((i) => (i % 256) - 128),
      new arrow.Int8(),
    ),
    u16: arrow.vectorFromArray(
      nulls((i) => (i * 37) % 65536),
      new arrow.Uint16(),
    ),
    i32: arrow.vectorFromArray(
      nulls((i) => i * 1_000_003 - 2 ** 30),
      new arrow.Int32(),
    ),
    u32: arrow.vectorFromArray(
      nulls((i) => (i * 2_654_435_761) % 2 ** 32),
      new arrow.Uint32(),
    ),
    i64: arrow.vectorFromArray(
      nulls((i) => BigInt(i) * 10_000_000_019n - 2n ** 62n),
      new arrow.Int64(),
    ),
    u64: arrow.vectorFromArray(
      nulls((i) => BigInt(i) * 2n ** 40n),
      new arrow.Uint64(),
    ),
    f32: arrow.vectorFromArray(
      nulls((i) => Math.fround(i / 3)),
      new arrow.Float32(),
    ),
    f64: arrow.vectorFromArray(
      nulls((i) => (i % 11 === 5 ? NaN : Math.sin(i) * 1e6)),
      new arrow.Float64(),
    ),
    bool: arrow.vectorFromArray(
      nulls((i) => i % 3 === 0),
      new arrow.Bool(),
    ),
    text: arrow.vectorFromArray(
      nulls((i) => (i % 5 === 0 ? '' : `row ${i} ✓`)),
      new arrow.Utf8(),
    ),
  });
}

const plain = (t: arrow.Table) =>
  Object.fromEntries(
    t.schema.fields.map((f) => [
      f.name,
      { type: String(f.type), values: [...t.getChild(f.name)!].map((v) => (typeof v === 'bigint' ? String(v) : v)) },
    ]),
  );

test(
  'streamParquet reads every column type it takes over the C Data Interface as written, ' +
    'nulls and NaN included, batch by batch',
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-parquet-'));
    const store = new LocalStore(dir);
    const t = table(5_000);
    // Two row groups, read in batches that do not line up with them.
    await store.put('t.parquet', toParquetBytes(t, undefined, 3_000));
    const pf = await openParquet(store, 't.parquet');
    const batches: arrow.Table[] = [];
    try {
      for await (const b of streamParquet(pf, {
        rowGroups: [0, 1],
        columns: t.schema.fields.map((f) => f.name),
        batchSize: 1_024,
      }))
        batches.push(b);
    } finally {
      pf.free();
    }
    expect(batches.map((b) => b.numRows)).toEqual([1_024, 1_024, 952, 1_024, 976]);
    const read = new arrow.Table(batches.flatMap((b) => b.batches));
    expect(plain(read)).toEqual(plain(t));
  },
);

test('a large_utf8 column beside only numbers keeps its type and values (arrow-js-ffi gives Utf8)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-parquet-'));
  const store = new LocalStore(dir);
  const n = 2_000;
  const t = new arrow.Table({
    id: arrow.makeVector(BigInt64Array.from({ length: n }, (_, i) => BigInt(i))),
    note: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => (i % 7 === 3 ? null : `large ${i} ✓`)),
      new arrow.LargeUtf8(),
    ),
  });
  await store.put('t.parquet', toParquetBytes(t, undefined, 1_500));
  const pf = await openParquet(store, 't.parquet');
  const batches: arrow.Table[] = [];
  try {
    for await (const b of streamParquet(pf, { rowGroups: [0, 1], columns: ['id', 'note'], batchSize: 1_024 }))
      batches.push(b);
  } finally {
    pf.free();
  }
  const read = new arrow.Table(batches.flatMap((b) => b.batches));
  // The schema's field and every batch's data: a Utf8 column under a LargeUtf8 field was written out as Utf8.
  expect([String(read.schema.fields[1]!.type), ...read.getChild('note')!.data.map((d) => String(d.type))]).toEqual(
    Array(1 + batches.length).fill('LargeUtf8'),
  );
  expect(plain(read)).toEqual(plain(t));
});
