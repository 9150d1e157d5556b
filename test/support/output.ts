import * as arrow from 'apache-arrow';
import { checkManifestSchema } from './manifestSchema.js';
import {
  manifestKey,
  openParquet,
  readJsonIfExists,
  runDir,
  streamParquet,
  type BatchManifest,
  type ObjectStore,
} from '@batchscore/core';

/** A JSON object the test expects to be there: its absence fails the test, naming the key. */
export async function readJson<T>(store: ObjectStore, key: string): Promise<T> {
  const v = await readJsonIfExists<T>(store, key);
  if (v === undefined) throw new Error(`${store.uriOf(key)}: expected a JSON object there, found none`);
  return v;
}

/** Reads a run's manifest and checks it against the committed manifest JSON Schema (v1) on the way. */
export async function readManifest(store: ObjectStore, batchDate: string, modelVersion = 'v3'): Promise<BatchManifest> {
  const key = manifestKey({ batchDate, modelVersion });
  const m = await readJson<BatchManifest>(store, key);
  checkManifestSchema(m, store.uriOf(key));
  return m;
}

/** Every row of a run's output, read back from the files its manifest lists, plus each row's file path. */
export async function readOutputRows(
  store: ObjectStore,
  m: BatchManifest,
): Promise<{ table: arrow.Table; paths: string[] }> {
  const dir = runDir({ batchDate: m.batch_date, modelVersion: m.model.version });
  const batches: arrow.RecordBatch[] = [];
  const paths: string[] = [];
  for (const f of m.files) {
    const pf = await openParquet(store, dir + f.path);
    const groups = Array.from({ length: pf.metadata().numRowGroups() }, (_, i) => i);
    for await (const t of streamParquet(pf, {
      rowGroups: groups,
      columns: m.output.columns.map((c) => c.name),
      batchSize: 1 << 20,
    })) {
      batches.push(...t.batches);
      for (let i = 0; i < t.numRows; i++) paths.push(f.path);
    }
    pf.free();
  }
  return { table: new arrow.Table(batches), paths };
}
