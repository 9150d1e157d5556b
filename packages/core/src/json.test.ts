import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonIfExists } from './json.js';
import { LocalStore } from './store/LocalStore.js';
import type { ObjectStore } from './store/ObjectStore.js';

/** A store that records which of its methods were called. */
function counting(store: ObjectStore): { store: ObjectStore; calls: string[] } {
  const calls: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls };
}

describe('readJsonIfExists', () => {
  it('is one read: the parsed object, or undefined when absent (no HEAD first)', async () => {
    const { store, calls } = counting(new LocalStore(await fs.mkdtemp(path.join(os.tmpdir(), 'bs-json-'))));
    await store.put('a/x.json', '{"n": 1}');
    calls.length = 0;
    expect(await readJsonIfExists(store, 'a/x.json')).toEqual({ n: 1 });
    expect(await readJsonIfExists(store, 'a/missing.json')).toBeUndefined();
    expect(await readJsonIfExists(store, 'no/such/dir.json')).toBeUndefined();
    expect(calls).toEqual(['get', 'get', 'get']);
  });

  it('other failures are thrown, and bad JSON is INPUT_INVALID', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bs-json-'));
    const store = new LocalStore(dir);
    await store.put('bad.json', '{nope');
    await expect(readJsonIfExists(store, 'bad.json')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(readJsonIfExists(store, '../escape.json')).rejects.toMatchObject({ code: 'STORE_DENIED' });
  });
});
