import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BatchscoreError } from './errors.js';
import { sha256Hex, sha256Of } from './hash.js';
import { externalDataKey, externalTensors } from './onnxExternalData.js';
import type { ObjectStore } from './store/ObjectStore.js';

/** A file a model reads its weights from (ONNX external data), beside the model. */
export interface ModelDataFile {
  /** Relative to the model's folder. */
  path: string;
  bytes: number;
  sha256: string;
}

/** Every byte a model is: its graph file's size and sha256, and each external data file's. */
export interface ModelIdentity {
  sha256: string;
  bytes: number;
  /** Only for a model with external data. */
  externalData?: ModelDataFile[];
}

/**
 * Pure: one hash for all of a model's bytes, for run ids and plan ids: the graph file's sha256 for a model in one
 * file (so ids are as they always were), else the sha256 of the graph's and each data file's path and sha256.
 */
export function modelId(m: Pick<ModelIdentity, 'sha256' | 'externalData'>): string {
  if (!m.externalData?.length) return m.sha256;
  return sha256Hex(JSON.stringify([m.sha256, ...m.externalData.map((f) => [f.path, f.sha256])]));
}

/**
 * The files a model names for its external data, as keys of the model's store, each with the first tensor that
 * names it; MODEL_INVALID (one line) for a location outside the model's folder. Bytes that are not an ONNX model
 * have none (onnxruntime refuses them later, with its own message).
 */
export function externalDataKeys(bytes: Uint8Array, uri: string): { key: string; tensor: string }[] {
  let tensors;
  try {
    tensors = externalTensors(bytes);
  } catch {
    return [];
  }
  const out = new Map<string, string>();
  for (const t of tensors) {
    const k = externalDataKey(t.location);
    if ('problem' in k) {
      throw new BatchscoreError(
        'MODEL_INVALID',
        `${uri}: tensor "${t.tensor}" keeps its data in ${JSON.stringify(t.location)}, which ${k.problem}; ` +
          `external data must be a file in the model's folder`,
      );
    }
    if (!out.has(k.key)) out.set(k.key, t.tensor);
  }
  return [...out].map(([key, tensor]) => ({ key, tensor }));
}

/**
 * What the plan records of the model (`uri` names it in messages; `key` in `store`, the model's folder): its
 * bytes' sha256 and size, and those of each external data file it names, fetched from beside it.
 */
export async function hashModel(store: ObjectStore, key: string, uri: string): Promise<ModelIdentity> {
  const bytes = await store.get(key);
  const files = externalDataKeys(bytes, uri);
  const dir = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  const externalData: ModelDataFile[] = [];
  for (const f of files) {
    if ((await store.head(dir + f.key)) === undefined) throw missingData(uri, f, store.uriOf(dir + f.key));
    const { sha256, bytes } = await sha256Of(store, dir + f.key);
    externalData.push({ path: f.key, bytes, sha256 });
  }
  return { sha256: sha256Hex(bytes), bytes: bytes.length, ...(externalData.length ? { externalData } : {}) };
}

function missingData(uri: string, f: { key: string; tensor: string }, where: string): BatchscoreError {
  return new BatchscoreError(
    'MODEL_INVALID',
    `${uri}: tensor "${f.tensor}" keeps its data in "${f.key}", which is not beside the model (${where} does not ` +
      `exist)`,
  );
}

/** A model as a worker opens it: its graph's bytes and, for external data, the private folder holding its files. */
export interface FetchedModel {
  bytes: Uint8Array;
  /** The folder the data files were fetched into, under the same relative paths; write the graph into it to load. */
  folder?: string;
  /** Removes the folder (once onnxruntime has read the files). */
  cleanup(): Promise<void>;
}

/**
 * Fetches a model and the external data files it names from its own folder (disk or S3) into a private folder
 * (never the process's working directory, where onnxruntime would look for a model loaded from bytes), hashing each
 * as it comes. With `expect` (the plan's record) every file must be the one planned, else MODEL_INVALID: the model
 * changed after planning.
 */
export async function fetchModel(
  store: ObjectStore,
  key: string,
  uri: string,
  expect?: ModelIdentity,
): Promise<FetchedModel> {
  const bytes = await store.get(key);
  const changed = (what: string, got: string, planned: string) =>
    new BatchscoreError(
      'MODEL_INVALID',
      `${what}: sha256 ${got.slice(0, 12)}… differs from ${planned.slice(0, 12)}… recorded by the plan; the model ` +
        `changed after planning, plan again`,
    );
  if (expect && sha256Hex(bytes) !== expect.sha256) throw changed(uri, sha256Hex(bytes), expect.sha256);
  const files = externalDataKeys(bytes, uri);
  if (files.length === 0) return { bytes, cleanup: async () => {} };
  const dir = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  const folder = await mkdtemp(path.join(tmpdir(), 'batchscore-model-'));
  const cleanup = () => rm(folder, { recursive: true, force: true });
  try {
    for (const f of files) {
      if ((await store.head(dir + f.key)) === undefined) throw missingData(uri, f, store.uriOf(dir + f.key));
      const sha256 = await download(store, dir + f.key, path.join(folder, ...f.key.split('/')));
      const planned = expect?.externalData?.find((x) => x.path === f.key);
      if (expect && !planned)
        throw new BatchscoreError('MODEL_INVALID', `${uri}: names "${f.key}", which the plan does not; plan again`);
      if (planned && planned.sha256 !== sha256) throw changed(store.uriOf(dir + f.key), sha256, planned.sha256);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { bytes, folder, cleanup };
}

/** Streams an object into a new file (private to this user), returning its sha256. */
async function download(store: ObjectStore, key: string, file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const h = createHash('sha256');
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  try {
    for await (const chunk of (await store.getStream(key)) as unknown as AsyncIterable<Uint8Array>) {
      h.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  } finally {
    out.end();
  }
  await done;
  return h.digest('hex');
}
