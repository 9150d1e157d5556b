import { readRunState, type BatchManifest, type ObjectStore, type RunKey } from '@batchscore/core';

/**
 * The run to compare predictions with: the manifest of the latest earlier date, within `lookbackDays`, of the same
 * job and model version in the same output. Looked up by date rather than by listing, so a bucket with years of
 * output costs at most `lookbackDays` small reads.
 */
export async function findBaseline(
  store: ObjectStore,
  o: { job: string; run: RunKey; lookbackDays: number },
): Promise<BatchManifest | undefined> {
  const day = new Date(o.run.batchDate + 'T00:00:00Z');
  for (let i = 1; i <= o.lookbackDays; i++) {
    const batchDate = new Date(day.getTime() - i * 86_400_000).toISOString().slice(0, 10);
    const { manifest: m } = await readRunState(store, { ...o.run, batchDate });
    if (m && m.job === o.job && m.status === 'complete') return m;
  }
  return undefined;
}
