import { stagingDir } from '../keys.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import type { RunKey } from './runKey.js';

/**
 * Starts shards of the run over: every shard (`run --local --force`), or those given (a damaged published run's:
 * prepareRepair). The shards' commits and the parts' records go, in batched deletes after one listing, so each shard
 * is scored from its first row by whichever attempt comes next, and a worker restarted meanwhile (after a kill) still
 * resumes after the parts committed since. Staged files stay for merge to remove with the rest.
 */
export async function resetShards(
  store: ObjectStore,
  run: RunKey,
  limit: number,
  shards?: readonly number[],
): Promise<void> {
  const only = shards ? new Set(shards) : undefined;
  const records = (await store.list(stagingDir(run) + 'shards/')).filter((o) => {
    const m = /shards\/(\d+)\/(_commit\.json$|parts\/)/.exec(o.key);
    return m !== null && (only === undefined || only.has(Number(m[1])));
  });
  await store.deleteMany(
    records.map((o) => o.key),
    { concurrency: limit },
  );
}
