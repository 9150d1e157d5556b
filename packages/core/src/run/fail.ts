import { toJsonText } from '../json.js';
import { failureKey, manifestKey } from '../keys.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import type { RunKey } from './runKey.js';
import { readRunState } from './state.js';

export interface FailureInfo {
  job: string;
  workflow?: string;
  status?: string;
  /** Argo's `{{workflow.failures}}`: JSON text listing failed nodes, kept as given. */
  failures?: string;
  recordedAt: string;
}

/**
 * Writes `_batch_failure.json` beside the output so a failed run is visible where its output would be. A complete
 * run is never touched: with a manifest present nothing is written. The record goes when the run is published
 * (publishRun removes it with the staged objects).
 */
export async function recordFailure(
  store: ObjectStore,
  run: RunKey,
  info: FailureInfo,
): Promise<{ written: boolean; uri: string }> {
  const { manifest } = await readRunState(store, run);
  // Any manifest, this run's or another's: a failure record must never sit beside published rows.
  if (manifest) return { written: false, uri: store.uriOf(manifestKey(run)) };
  let failures: unknown = info.failures;
  try {
    if (info.failures) failures = JSON.parse(info.failures);
  } catch {
    /* keep Argo's text as it came */
  }
  const body = {
    status: 'failed',
    job: info.job,
    batch_date: run.batchDate,
    model_version: run.modelVersion,
    ...(info.workflow ? { workflow: info.workflow } : {}),
    ...(info.status ? { workflow_status: info.status } : {}),
    ...(failures !== undefined ? { failures } : {}),
    recorded_at: info.recordedAt,
  };
  await store.put(failureKey(run), toJsonText(body));
  return { written: true, uri: store.uriOf(failureKey(run)) };
}
