import type { ObjectStore } from './store/ObjectStore.js';

/** Opens a store rooted at a folder URI. Commands build one from env and the job's storage options. */
export type StoreFactory = (folderUri: string) => ObjectStore;

/** Splits an object URI into its folder (with trailing '/') and the object's name. */
export function splitObjectUri(uri: string): { dir: string; name: string } {
  const i = uri.lastIndexOf('/');
  return { dir: uri.slice(0, i + 1), name: uri.slice(i + 1) };
}

export function openObject(open: StoreFactory, uri: string): { store: ObjectStore; key: string } {
  const { dir, name } = splitObjectUri(uri);
  return { store: open(dir), key: name };
}
