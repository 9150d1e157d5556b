import { BatchscoreError } from './errors.js';
import type { ObjectStore } from './store/ObjectStore.js';

/**
 * One GET, absent → undefined: a HEAD first would double the requests of every small record read (merge reads one
 * commit record per shard), and tell nothing the GET does not. A missing bucket is absent too, as a HEAD said.
 */
export async function readJsonIfExists<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (err) {
    if (err instanceof BatchscoreError && err.code === 'STORE_NOT_FOUND') return undefined;
    throw err;
  }
  return parseJson<T>(store, key, bytes);
}

function parseJson<T>(store: ObjectStore, key: string, bytes: Uint8Array): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    throw new BatchscoreError('INPUT_INVALID', `${store.uriOf(key)}: not valid JSON (${(err as Error).message})`);
  }
}

export function toJsonText(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
