import { openParquet, streamParquet, type BatchManifest, type ObjectStore } from '@batchscore/core';

export const TIERS = [
  { name: 'LOW', below: 0.25 },
  { name: 'MEDIUM', below: 0.6 },
  { name: 'HIGH', below: Infinity },
] as const;

/** Reads the prediction column back from the run's parts, streaming: tier counts and the mean. */
export async function readTiers(store: ObjectStore, runDir: string, m: BatchManifest, column: string) {
  const counts = [0, 0, 0];
  let sum = 0;
  let n = 0;
  for (const f of m.files) {
    const pf = await openParquet(store, runDir + f.path);
    try {
      const groups = Array.from({ length: pf.metadata().numRowGroups() }, (_, i) => i);
      for await (const t of streamParquet(pf, { rowGroups: groups, columns: [column], batchSize: 65536 })) {
        const p = t.getChild(column)!.toArray() as Float32Array;
        for (let i = 0; i < p.length; i++) {
          const v = p[i]!;
          counts[v < 0.25 ? 0 : v < 0.6 ? 1 : 2]!++;
          sum += v;
        }
        n += p.length;
      }
    } finally {
      pf.free();
    }
  }
  return { counts, mean: n > 0 ? sum / n : NaN, rows: n };
}
