import {
  BatchscoreError,
  failureKey,
  manifestKey,
  openObject,
  readJsonIfExists,
  readRunState,
  resolveUri,
  type BatchManifest,
  type ObjectStore,
  outputLayout,
  type StoreFactory,
} from '@batchscore/core';
import { dateArg } from './args.js';
import { loadJob } from './loadJob.js';
import { storeFactoryFor } from './storeFactory.js';

type FoundRun =
  | { kind: 'complete'; manifest: BatchManifest; uri: string }
  | { kind: 'failed'; failure: Record<string, unknown>; uri: string };

export type LocatedRun = FoundRun & {
  /** Opens the run's stores as the run was located (a job's S3 settings, or the environment's). */
  open: StoreFactory;
};

/**
 * A run named any way a user has at hand: the manifest's URI, the run folder (`…/batch_date=D/model_version=V/`),
 * the output root with --date (and --model-version when several versions ran that date), or the job file with --date.
 * A run that failed is found by its `_batch_failure.json`; a run with neither record is not complete yet
 * (RUN_INCOMPLETE, exit 66).
 */
export async function locateRun(target: string, o: { date?: string; modelVersion?: string }): Promise<LocatedRun> {
  let root: string;
  let store: ObjectStore;
  if (/\.ya?ml$/i.test(target)) {
    const job = await loadJob({}, [target]);
    root = outputLayout(job).records;
    const open = storeFactoryFor(job);
    return { ...(await fromRoot(open(root), root, dateArg(o.date), o.modelVersion ?? job.spec.model.version)), open };
  }
  const r = resolveUri(target, process.cwd(), 'auto');
  if ('error' in r) throw new BatchscoreError('USAGE', r.error);
  const uri = r.uri;
  if (uri.endsWith('.json')) {
    const { store: s, key } = openObject(storeFactoryFor(), uri);
    const body = await readJsonIfExists<Record<string, unknown>>(s, key);
    // Not published yet, as far as anyone polling for it can tell (exit 66).
    if (!body) throw new BatchscoreError('RUN_INCOMPLETE', `${uri}: no such file (not published yet?)`);
    return body.status === 'failed'
      ? { kind: 'failed', failure: body, uri, open: storeFactoryFor() }
      : { kind: 'complete', manifest: body as unknown as BatchManifest, uri, open: storeFactoryFor() };
  }
  const folder = uri.endsWith('/') ? uri : uri + '/';
  const m = /^(.*\/)batch_date=(\d{4}-\d{2}-\d{2})\/(?:model_version=([^/]+)\/)?$/.exec(folder);
  if (m) {
    store = storeFactoryFor()(m[1]!);
    return { ...(await fromRoot(store, m[1]!, m[2]!, m[3] ?? o.modelVersion)), open: storeFactoryFor() };
  }
  if (!o.date)
    throw new BatchscoreError(
      'USAGE',
      `${folder}: an output root; give --date (or the run folder …/batch_date=D/model_version=V/)`,
    );
  store = storeFactoryFor()(folder);
  return { ...(await fromRoot(store, folder, dateArg(o.date), o.modelVersion)), open: storeFactoryFor() };
}

async function fromRoot(
  store: ObjectStore,
  root: string,
  batchDate: string,
  modelVersion: string | undefined,
): Promise<FoundRun> {
  let versions: string[];
  if (modelVersion) versions = [modelVersion];
  else {
    // Only this date's folder is listed, never the whole output.
    const keys = (await store.list(`batch_date=${batchDate}/`)).map((x) => x.key);
    versions = [
      ...new Set(
        keys
          .map((k) => /^batch_date=[^/]+\/model_version=([^/]+)\/_batch_(manifest|failure)\.json$/.exec(k)?.[1])
          .filter((v): v is string => !!v),
      ),
    ].sort();
    if (versions.length > 1)
      throw new BatchscoreError(
        'USAGE',
        `${root}batch_date=${batchDate}/: runs of model versions ${versions.join(', ')}; pick one with --model-version`,
      );
    if (versions.length === 0)
      throw new BatchscoreError(
        'RUN_INCOMPLETE',
        `${root}batch_date=${batchDate}/: no run there (no _batch_manifest.json or _batch_failure.json)`,
      );
  }
  const run = { batchDate, modelVersion: versions[0]! };
  const { manifest, failure } = await readRunState(store, run, { failure: true });
  if (manifest) return { kind: 'complete', manifest, uri: store.uriOf(manifestKey(run)) };
  if (failure) return { kind: 'failed', failure, uri: store.uriOf(failureKey(run)) };
  throw new BatchscoreError(
    'RUN_INCOMPLETE',
    `${store.uriOf(manifestKey(run))}: no manifest (the run is not complete) and no failure record`,
  );
}
