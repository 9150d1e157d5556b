import { BatchscoreError } from './errors.js';
import type { ObjectStore } from './store/ObjectStore.js';

export async function readJson<T>(store: ObjectStore, key: string): Promise<T> {
  const bytes = await store.get(key);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    throw new BatchscoreError('INPUT_INVALID', `${store.uriOf(key)}: not valid JSON (${(err as Error).message})`);
  }
}

export async function readJsonIfExists<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  if (!(await store.head(key))) return undefined;
  return readJson<T>(store, key);
}

export function toJsonText(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
