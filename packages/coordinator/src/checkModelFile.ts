import { openObject, type StoreFactory } from '@batchscore/core';

/** The model file must exist before anything hashes or opens it; `plan` fails on the problem, `validate` reports it. */
export async function checkModelFile(open: StoreFactory, uri: string): Promise<string[]> {
  const { store, key } = openObject(open, uri);
  return (await store.head(key)) ? [] : [`${uri}: model file does not exist (spec.model.uri)`];
}
