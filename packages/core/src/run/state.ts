import { BatchscoreError } from '../errors.js';
import { readJsonIfExists } from '../json.js';
import { failureKey, manifestKey } from '../keys.js';
import { modelId } from '../modelFiles.js';
import type { ObjectStore } from '../store/ObjectStore.js';
import type { StoreFactory } from '../storeFactory.js';
import type { BatchManifest } from './manifest.js';
import { checkPublishedRun } from './publishedRun.js';
import type { RunKey } from './runKey.js';

/**
 * What the output says of a run: its manifest (published) and, when asked, its failure record (what an exit handler
 * wrote). One GET each. Which run holds the folder is its lease (readLease), read only where it decides something.
 */
export interface RunState {
  manifest?: BatchManifest;
  failure?: Record<string, unknown>;
}

export async function readRunState(
  store: ObjectStore,
  run: RunKey,
  opts: { failure?: boolean } = {},
): Promise<RunState> {
  const [manifest, failure] = await Promise.all([
    readJsonIfExists<BatchManifest>(store, manifestKey(run)),
    opts.failure ? readJsonIfExists<Record<string, unknown>>(store, failureKey(run)) : undefined,
  ]);
  return { ...(manifest ? { manifest } : {}), ...(failure ? { failure } : {}) };
}

/**
 * Pure: who published the run folder. A manifest is written last, by exclusive create, so its presence is the one
 * test of "complete"; its run id says whether it is this run's (the same job, date and model bytes) or another's
 * (another model under the same version).
 */
export function publishedBy(manifest: BatchManifest | undefined, runId: string): 'nobody' | 'this run' | 'another run' {
  if (manifest?.status !== 'complete') return 'nobody';
  return manifest.run_id === runId ? 'this run' : 'another run';
}

/** The refusal to score or publish over another run's complete output without --force. */
export function publishedByAnother(
  store: ObjectStore,
  run: RunKey,
  manifest: BatchManifest,
  runId: string,
): BatchscoreError {
  return new BatchscoreError(
    'RUN_CONFLICT',
    `${store.uriOf(manifestKey(run))}: the output already holds a complete run ${manifest.run_id} (model sha256 ` +
      `${manifest.model.sha256.slice(0, 12)}…); this run is ${runId}. Use a new model version, or --force to ` +
      `replace it`,
  );
}

/**
 * Whether the run is published with this very model (same version and same bytes, external data included: modelId)
 * and still as its manifest says (checkPublishedRun: every file it lists there with its size): what
 * `--skip-complete` skips. A new model under an old version name is run again, and so is a damaged run (repaired).
 * `model` (modelId of the job's model) is asked for only when there is a manifest to compare it with (hashing a large
 * model costs more than the manifest's GET). `records`: where the run's manifest is (outputLayout).
 */
export async function isPublished(
  records: ObjectStore,
  open: StoreFactory,
  run: RunKey,
  model: string | (() => Promise<string>),
  opts: { concurrency?: number } = {},
): Promise<boolean> {
  const { manifest } = await readRunState(records, run);
  if (manifest?.status !== 'complete') return false;
  const published = modelId({ sha256: manifest.model.sha256, externalData: manifest.model.external_data });
  if (published !== (typeof model === 'string' ? model : await model())) return false;
  return (await checkPublishedRun(open, manifest, opts)).damaged.length === 0;
}
