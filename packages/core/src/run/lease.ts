import { BatchscoreError } from '../errors.js';
import { readJsonIfExists } from '../json.js';
import { lockKey } from '../keys.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import type { RunKey } from './runKey.js';

/** `run.lock`: the run that holds the output folder of its date and model version. */
export interface Lease {
  runId: string;
  planId: string;
  takenAt: string;
}

/**
 * Takes the output folder for this run: an exclusive create holding the run id. A rerun of the same run (after a
 * crash, say) passes; a run with another model under the same version is refused before it writes anything, unless
 * `force` (then it takes the folder over), since both would stage and publish under the same keys.
 */
export async function takeLease(
  store: ObjectStore,
  run: RunKey,
  lease: Lease,
  opts: { force?: boolean } = {},
): Promise<void> {
  const key = lockKey(run);
  const body = JSON.stringify(lease);
  if (await store.putIfAbsent(key, body)) return;
  const holder = (await readLease(store, run))?.runId;
  if (holder === lease.runId) return;
  if (!opts.force) {
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${store.uriOf(key)}: this output is held by run ${holder}, not ${lease.runId} (another model under version ` +
        `${run.modelVersion}); wait for it, or --force to take it over`,
    );
  }
  await store.put(key, body);
}

/** The lease, when the folder has one. */
export function readLease(store: ObjectStore, run: RunKey): Promise<Lease | undefined> {
  return readJsonIfExists<Lease>(store, lockKey(run));
}

/** Refuses to publish a run whose folder another run took over (a later `--force` with another model). */
export function checkLease(store: ObjectStore, run: RunKey, lease: Lease | undefined, runId: string): void {
  if (lease && lease.runId !== runId) {
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${store.uriOf(lockKey(run))}: run ${lease.runId} took this output over; ${runId} will not publish`,
    );
  }
}
