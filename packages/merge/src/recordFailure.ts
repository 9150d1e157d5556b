import { failureKey, manifestKey, toJsonText, type ObjectStore, type RunKey } from '@batchscore/core';

export interface FailureInfo {
  job: string;
  batchDate: string;
  modelVersion: string;
  workflow?: string;
  status?: string;
  /** Argo's `{{workflow.failures}}`: JSON text listing failed nodes, kept as given. */
  failures?: string;
  recordedAt: string;
}

/**
 * Writes `_batch_failure.json` beside the output so a failed run is visible where its output would be.
 * A complete run is never touched: with a manifest present nothing is written.
 */
export async function recordFailure(store: ObjectStore, info: FailureInfo): Promise<{ written: boolean; uri: string }> {
  const run: RunKey = { batchDate: info.batchDate, modelVersion: info.modelVersion };
  if (await store.head(manifestKey(run))) return { written: false, uri: store.uriOf(manifestKey(run)) };
  let failures: unknown = info.failures;
  try {
    if (info.failures) failures = JSON.parse(info.failures);
  } catch {
    /* keep Argo's text as it came */
  }
  const body = {
    status: 'failed',
    job: info.job,
    batch_date: info.batchDate,
    model_version: info.modelVersion,
    ...(info.workflow ? { workflow: info.workflow } : {}),
    ...(info.status ? { workflow_status: info.status } : {}),
    ...(failures !== undefined ? { failures } : {}),
    recorded_at: info.recordedAt,
  };
  await store.put(failureKey(run), toJsonText(body));
  return { written: true, uri: store.uriOf(failureKey(run)) };
}
