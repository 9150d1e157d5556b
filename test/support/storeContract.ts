/**
 * The ObjectStore contract, written once and run against every implementation. `make` returns a fresh, empty store
 * for each test.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DELETE_BATCH, type ObjectStore } from '../../packages/core/src/store/ObjectStore.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? `no code: ${String(err)}`;
  }
  return 'resolved';
}

export function storeContract(name: string, make: () => Promise<ObjectStore>): void {
  describe(`${name}: ObjectStore contract`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      store = await make();
    });

    it('rootUri ends with a slash and uriOf appends the key', () => {
      expect(store.rootUri.endsWith('/')).toBe(true);
      expect(store.uriOf('a/b.parquet')).toBe(`${store.rootUri}a/b.parquet`);
    });

    it('put then get returns the same bytes, for strings and binary', async () => {
      await store.put('a.txt', 'hello');
      expect(text(await store.get('a.txt'))).toBe('hello');
      const bin = new Uint8Array([0, 1, 2, 255, 254, 0]);
      await store.put('deep/er/bin', bin);
      expect(Array.from(await store.get('deep/er/bin'))).toEqual([0, 1, 2, 255, 254, 0]);
      await store.put('empty', new Uint8Array(0));
      expect((await store.get('empty')).length).toBe(0);
    });

    it('put overwrites', async () => {
      await store.put('k', 'first version');
      await store.put('k', 'second');
      expect(text(await store.get('k'))).toBe('second');
      expect(await store.head('k')).toEqual({ key: 'k', size: 6, version: expect.any(String) });
    });

    it('gives a version that changes with the bytes, and reads a range only of the version asked for', async () => {
      await store.put('v', 'first version');
      const first = (await store.head('v'))!.version!;
      expect((await store.list('')).find((o) => o.key === 'v')?.version).toBe(first);
      expect(text(await store.getRange('v', 0, 5, { version: first }))).toBe('first');
      // A local file's version is its modification time: a rewrite within the same tick would keep it.
      await new Promise((r) => setTimeout(r, 20));
      await store.put('v', 'other version');
      const second = (await store.head('v'))!.version!;
      expect(second).not.toBe(first);
      expect(await codeOf(store.getRange('v', 0, 5, { version: first }))).toBe('INPUT_CHANGED');
      expect(text(await store.getRange('v', 0, 5, { version: second }))).toBe('other');
    });

    it('head gives the size, or undefined when absent', async () => {
      await store.put('x/y.bin', new Uint8Array(1234));
      expect(await store.head('x/y.bin')).toEqual({ key: 'x/y.bin', size: 1234, version: expect.any(String) });
      expect(await store.head('x/nope')).toBeUndefined();
      expect(await store.head('x')).toBeUndefined();
    });

    it('getRange returns bytes [start, end)', async () => {
      await store.put('r', '0123456789');
      expect(text(await store.getRange('r', 0, 4))).toBe('0123');
      expect(text(await store.getRange('r', 6, 10))).toBe('6789');
      expect(text(await store.getRange('r', 3, 4))).toBe('3');
      expect((await store.getRange('r', 5, 5)).length).toBe(0);
    });

    it('getStream streams the whole object', async () => {
      const big = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
      await store.put('s/big', big);
      const got = await readAll(await store.getStream('s/big'));
      expect(got.length).toBe(big.length);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(big))).toBe(0);
    });

    it('list is recursive, sorted by key, filtered by string prefix', async () => {
      for (const k of ['b/2', 'a', 'b/1/x', 'c.txt', 'b/10', 'bb', 'b/1/y']) await store.put(k, k);
      const all = await store.list('');
      expect(all.map((o) => o.key)).toEqual(['a', 'b/1/x', 'b/1/y', 'b/10', 'b/2', 'bb', 'c.txt']);
      expect(all.find((o) => o.key === 'b/1/x')).toEqual({ key: 'b/1/x', size: 5, version: expect.any(String) });
      expect((await store.list('b/')).map((o) => o.key)).toEqual(['b/1/x', 'b/1/y', 'b/10', 'b/2']);
      expect((await store.list('b/1')).map((o) => o.key)).toEqual(['b/1/x', 'b/1/y', 'b/10']);
      expect((await store.list('b/1/')).map((o) => o.key)).toEqual(['b/1/x', 'b/1/y']);
      expect((await store.list('b')).map((o) => o.key)).toEqual(['b/1/x', 'b/1/y', 'b/10', 'b/2', 'bb']);
      expect(await store.list('nothing/here/')).toEqual([]);
    });

    it('list of an empty store is []', async () => {
      expect(await store.list('')).toEqual([]);
    });

    it('putIfAbsent creates once, then returns false and leaves the object alone', async () => {
      expect(await store.putIfAbsent('lock/owner', 'run-1')).toBe(true);
      expect(await store.putIfAbsent('lock/owner', 'run-2')).toBe(false);
      expect(text(await store.get('lock/owner'))).toBe('run-1');
      expect((await store.list('')).map((o) => o.key)).toEqual(['lock/owner']);
    });

    it('putIfAbsent: only one of many concurrent callers wins', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfAbsent('race', `w${i}`)));
      expect(results.filter((r) => r).length).toBe(1);
      const winner = results.indexOf(true);
      expect(text(await store.get('race'))).toBe(`w${winner}`);
    });

    it('move renames the object', async () => {
      await store.put('tmp/part-0', 'payload');
      await store.move('tmp/part-0', 'final/sub/part-0');
      expect(await store.head('tmp/part-0')).toBeUndefined();
      expect(text(await store.get('final/sub/part-0'))).toBe('payload');
      expect((await store.list('')).map((o) => o.key)).toEqual(['final/sub/part-0']);
    });

    it('move of a key with spaces and special characters', async () => {
      await store.put('dir with space/a+b=c&d%20.txt', 'odd');
      await store.move('dir with space/a+b=c&d%20.txt', 'out/ü ñ.txt');
      expect(text(await store.get('out/ü ñ.txt'))).toBe('odd');
      expect(await store.head('dir with space/a+b=c&d%20.txt')).toBeUndefined();
    });

    it('move of a missing key is STORE_NOT_FOUND', async () => {
      expect(await codeOf(store.move('ghost', 'elsewhere'))).toBe('STORE_NOT_FOUND');
    });

    it('copy makes a second object with the same bytes and leaves the source', async () => {
      const bin = new Uint8Array(70_000).map((_, i) => (i * 13) % 256);
      await store.put('staged/part-0.staged', bin);
      await store.copy('staged/part-0.staged', 'final/sub/part-0');
      expect(Buffer.compare(Buffer.from(await store.get('final/sub/part-0')), Buffer.from(bin))).toBe(0);
      expect((await store.list('')).map((o) => o.key)).toEqual(['final/sub/part-0', 'staged/part-0.staged']);
      // The copy outlives its source.
      await store.delete('staged/part-0.staged');
      expect(await store.head('final/sub/part-0')).toMatchObject({ key: 'final/sub/part-0', size: 70_000 });
    });

    it('copy replaces what the target held, and a second copy of the same source is harmless', async () => {
      await store.put('src', 'new bytes');
      await store.put('dst', 'an older, longer object');
      await store.copy('src', 'dst');
      await store.copy('src', 'dst');
      expect(text(await store.get('dst'))).toBe('new bytes');
      expect(text(await store.get('src'))).toBe('new bytes');
      // The copy is an object of its own: overwriting the source later leaves it alone.
      await store.put('src', 'changed');
      expect(text(await store.get('dst'))).toBe('new bytes');
    });

    it('copyFrom another store of its kind (bookkeeping into the table) copies and leaves the source', async () => {
      const other = await make();
      const bin = new Uint8Array(30_000).map((_, i) => (i * 7) % 256);
      await other.put('staged/a b+c.staged', bin);
      await store.copyFrom(other, 'staged/a b+c.staged', 'final/a b+c');
      expect(Buffer.compare(Buffer.from(await store.get('final/a b+c')), Buffer.from(bin))).toBe(0);
      expect((await other.list('')).map((o) => o.key)).toEqual(['staged/a b+c.staged']);
      expect(await codeOf(store.copyFrom(other, 'staged/missing', 'final/x'))).toBe('STORE_NOT_FOUND');
      expect(await store.head('final/x')).toBeUndefined();
    });

    it('copy of keys with spaces and special characters', async () => {
      await store.put('dir with space/a+b=c&d%20.txt', 'odd');
      await store.copy('dir with space/a+b=c&d%20.txt', 'out/ü ñ.txt');
      expect(text(await store.get('out/ü ñ.txt'))).toBe('odd');
      expect(text(await store.get('dir with space/a+b=c&d%20.txt'))).toBe('odd');
    });

    it('copy of a missing key is STORE_NOT_FOUND and creates nothing; bad keys are STORE_DENIED', async () => {
      expect(await codeOf(store.copy('ghost', 'elsewhere/x'))).toBe('STORE_NOT_FOUND');
      expect(await codeOf(store.copy('no/such/dir/ghost', 'elsewhere/y'))).toBe('STORE_NOT_FOUND');
      await store.put('ok', 'x');
      expect(await codeOf(store.copy('ok', '../x'))).toBe('STORE_DENIED');
      expect(await codeOf(store.copy('../x', 'ok2'))).toBe('STORE_DENIED');
      expect((await store.list('')).map((o) => o.key)).toEqual(['ok']);
    });

    it('deleteMany removes the keys given, leaves the rest, and takes absent keys and an empty list', async () => {
      for (const k of ['a/1', 'a/2', 'a/3', 'b/1', 'c']) await store.put(k, k);
      await store.deleteMany(['a/1', 'a/3', 'c', 'never/was', 'a/1']);
      expect((await store.list('')).map((o) => o.key)).toEqual(['a/2', 'b/1']);
      await store.deleteMany([]);
      await store.deleteMany(['a/2', 'b/1'], { concurrency: 8 });
      expect(await store.list('')).toEqual([]);
    });

    it(`deleteMany of more keys than one request takes (${DELETE_BATCH})`, async () => {
      const keys = Array.from({ length: DELETE_BATCH + 5 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, 'x')));
      await store.put('keep', 'y');
      await store.deleteMany(keys, { concurrency: 2 });
      expect((await store.list('')).map((o) => o.key)).toEqual(['keep']);
    });

    it('deleteMany with a bad key is STORE_DENIED and deletes nothing', async () => {
      await store.put('d/1', 'x');
      expect(await codeOf(store.deleteMany(['d/1', '../escape']))).toBe('STORE_DENIED');
      expect((await store.list('')).map((o) => o.key)).toEqual(['d/1']);
    });

    it('delete removes, and deleting an absent key is fine', async () => {
      await store.put('d/1', 'x');
      await store.delete('d/1');
      expect(await store.head('d/1')).toBeUndefined();
      await store.delete('d/1');
      await store.delete('never/was');
      expect(await store.list('')).toEqual([]);
    });

    it('a missing key is STORE_NOT_FOUND for get, getRange and getStream', async () => {
      expect(await codeOf(store.get('missing'))).toBe('STORE_NOT_FOUND');
      expect(await codeOf(store.get('no/such/dir/file'))).toBe('STORE_NOT_FOUND');
      expect(await codeOf(store.getRange('missing', 0, 4))).toBe('STORE_NOT_FOUND');
      expect(await codeOf(store.getStream('missing'))).toBe('STORE_NOT_FOUND');
      await expect(store.get('missing')).rejects.toThrow(/missing/);
    });

    it('bad keys are rejected with STORE_DENIED before touching the store', async () => {
      for (const bad of ['../escape', 'a/../../b', '/abs', 'a\\b', 'a//b', 'a/', '', './a', '.x.tmp-1-2']) {
        expect(await codeOf(store.put(bad, 'x'))).toBe('STORE_DENIED');
        expect(await codeOf(store.get(bad))).toBe('STORE_DENIED');
      }
      expect(await codeOf(store.list('../'))).toBe('STORE_DENIED');
      expect(await codeOf(store.move('ok', '../x'))).toBe('STORE_DENIED');
      await expect(store.get('../escape')).rejects.toThrow(/"\.\.\/escape".*\.\./);
      expect(await store.list('')).toEqual([]);
    });

    it('keys that merely contain dots are fine', async () => {
      await store.put('a..b/.hidden/x..y', 'ok');
      expect(text(await store.get('a..b/.hidden/x..y'))).toBe('ok');
      expect((await store.list('a..b/')).map((o) => o.key)).toEqual(['a..b/.hidden/x..y']);
    });
  });
}
