import * as arrow from 'apache-arrow';
import { manifestKey, openParquet, readJson, runDir, streamParquet, type BatchManifest, type ObjectStore } from '@batchscore/core';

export async function readManifest(store: ObjectStore, batchDate: string, modelVersion = 'v3'): Promise<BatchManifest> {
  return readJson<BatchManifest>(store, manifestKey({ batchDate, modelVersion }));
}

/** Every row of a run's output, read back from the files its manifest lists, plus each row's file path. */
export async function readOutputRows(store: ObjectStore, m: BatchManifest): Promise<{ table: arrow.Table; paths: string[] }> {
  const dir = runDir({ batchDate: m.batch_date, modelVersion: m.model.version });
  const batches: arrow.RecordBatch[] = [];
  const paths: string[] = [];
  for (const f of m.files) {
    const pf = await openParquet(store, dir + f.path);
    const groups = Array.from({ length: pf.metadata().numRowGroups() }, (_, i) => i);
    for await (const t of streamParquet(pf, { rowGroups: groups, columns: m.output.columns, batchSize: 1 << 20 })) {
      batches.push(...t.batches);
      for (let i = 0; i < t.numRows; i++) paths.push(f.path);
    }
    pf.free();
  }
  return { table: new arrow.Table(batches), paths };
}
