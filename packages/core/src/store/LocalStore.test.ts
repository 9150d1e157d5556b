import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { storeContract } from '../../../../test/support/storeContract.js';
import { BatchscoreError } from '../errors.js';
import { LocalStore } from './LocalStore.js';
import { openObject } from '../storeFactory.js';
import { LazyS3Store } from './LazyS3Store.js';
import { openStore, parseLocation } from './openStore.js';

const tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'bs-localstore-'));
afterAll(async () => {
  await fs.rm(tmpRoot, { recursive: true, force: true });
});
let n = 0;
const freshDir = () => path.join(tmpRoot, `s${n++}`);

storeContract('LocalStore', async () => new LocalStore(freshDir()));

/** Every file on disk below dir, relative, including hidden ones. */
async function filesOnDisk(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('LocalStore specifics', () => {
  it('rootUri and uriOf are file:// URLs of the absolute path; pathOf is the path', async () => {
    const dir = freshDir();
    const store = new LocalStore(dir);
    expect(store.rootUri).toBe(`${pathToFileURL(dir).href}/`);
    expect(store.uriOf('a b/c.parquet')).toBe(pathToFileURL(path.join(dir, 'a b', 'c.parquet')).href);
    await store.put('m/model.onnx', 'x');
    expect(store.pathOf('m/model.onnx')).toBe(path.join(dir, 'm', 'model.onnx'));
  });

  it('rejects a relative root', () => {
    expect(() => new LocalStore('rel/dir')).toThrow(BatchscoreError);
  });

  it('writes land on disk at the key path and leave no temp files behind', async () => {
    const dir = freshDir();
    const store = new LocalStore(dir);
    await store.put('out/part-0.parquet', 'a');
    await store.put('out/part-0.parquet', 'b');
    expect(await store.putIfAbsent('out/_lock', 'me')).toBe(true);
    expect(await store.putIfAbsent('out/_lock', 'you')).toBe(false);
    await store.move('out/part-0.parquet', 'final/part-0.parquet');
    expect(await filesOnDisk(dir)).toEqual([path.join('final', 'part-0.parquet'), path.join('out', '_lock')]);
    expect(await fs.readFile(path.join(dir, 'final', 'part-0.parquet'), 'utf8')).toBe('b');
  });

  it('list hides temp files left by a crashed writer, but shows other dot files', async () => {
    const dir = freshDir();
    const store = new LocalStore(dir);
    await store.put('p/data', '1');
    await fs.writeFile(path.join(dir, 'p', '.data.tmp-12345-7'), 'partial');
    await fs.writeFile(path.join(dir, 'p', '.keep'), '');
    expect((await store.list('')).map((o) => o.key)).toEqual(['p/.keep', 'p/data']);
  });

  it('list of a root that does not exist is []', async () => {
    expect(await new LocalStore(path.join(tmpRoot, 'does', 'not', 'exist')).list('')).toEqual([]);
  });

  it('a missing key names the path in the error', async () => {
    const dir = freshDir();
    const err = await new LocalStore(dir).get('nope/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchscoreError);
    expect((err as BatchscoreError).code).toBe('STORE_NOT_FOUND');
    expect((err as BatchscoreError).retryable).toBe(false);
    expect((err as BatchscoreError).message).toBe(`get "nope/x": no such file ${path.join(dir, 'nope', 'x')}`);
  });

  it('a key naming a directory is not found, and head says absent', async () => {
    const store = new LocalStore(freshDir());
    await store.put('d/f', 'x');
    expect(await store.head('d')).toBeUndefined();
    await expect(store.get('d')).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
  });

  it('copy is a hard link renamed into place: the bytes are on disk once, and no temp file is left', async () => {
    const dir = freshDir();
    const store = new LocalStore(dir);
    await store.put('s/part.staged', 'bytes');
    await store.copy('s/part.staged', 'out/k=v/part.parquet');
    const [a, b] = await Promise.all([
      fs.stat(path.join(dir, 's', 'part.staged')),
      fs.stat(path.join(dir, 'out', 'k=v', 'part.parquet')),
    ]);
    expect([b.ino, b.nlink]).toEqual([a.ino, 2]);
    expect(await filesOnDisk(dir)).toEqual([path.join('out', 'k=v', 'part.parquet'), path.join('s', 'part.staged')]);
    await store.delete('s/part.staged');
    expect((await fs.stat(path.join(dir, 'out', 'k=v', 'part.parquet'))).nlink).toBe(1);
  });

  it('copy of a key naming a directory is STORE_NOT_FOUND', async () => {
    const store = new LocalStore(freshDir());
    await store.put('d/f', 'x');
    await expect(store.copy('d', 'e')).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
    expect((await store.list('')).map((o) => o.key)).toEqual(['d/f']);
  });

  it('deleteMany removes the folders it empties, up to the root', async () => {
    const dir = freshDir();
    const store = new LocalStore(dir);
    for (const k of ['a/b/1', 'a/b/2', 'a/c/1', 'keep/x']) await store.put(k, k);
    await store.deleteMany(['a/b/1', 'a/b/2', 'a/c/1'], { concurrency: 3 });
    expect(await fs.readdir(dir)).toEqual(['keep']);
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable file is STORE_DENIED', async () => {
    const dir = freshDir();
    const store = new LocalStore(dir);
    await store.put('secret', 'x');
    await fs.chmod(path.join(dir, 'secret'), 0o000);
    await expect(store.get('secret')).rejects.toMatchObject({ code: 'STORE_DENIED', retryable: false });
  });
});

describe('parseLocation / openStore / openObject', () => {
  const base = '/base/dir';

  it('parses file URIs and paths', () => {
    expect(parseLocation('file:///abs/dir/', base)).toEqual({ scheme: 'file', path: '/abs/dir' });
    expect(parseLocation('file:///abs/with%20space', base)).toEqual({ scheme: 'file', path: '/abs/with space' });
    expect(parseLocation('file:rel/dir', base)).toEqual({ scheme: 'file', path: '/base/dir/rel/dir' });
    expect(parseLocation('rel/dir/', base)).toEqual({ scheme: 'file', path: '/base/dir/rel/dir' });
    expect(parseLocation('./x', base)).toEqual({ scheme: 'file', path: '/base/dir/x' });
    expect(parseLocation('/abs', base)).toEqual({ scheme: 'file', path: '/abs' });
  });

  it('parses s3 URIs', () => {
    expect(parseLocation('s3://bucket/some/prefix/', base)).toEqual({
      scheme: 's3',
      bucket: 'bucket',
      prefix: 'some/prefix/',
    });
    expect(parseLocation('s3://bucket', base)).toEqual({ scheme: 's3', bucket: 'bucket', prefix: '' });
    expect(parseLocation('s3://bucket/', base)).toEqual({ scheme: 's3', bucket: 'bucket', prefix: '' });
    expect(parseLocation('s3://b/a b/c', base)).toEqual({ scheme: 's3', bucket: 'b', prefix: 'a b/c' });
  });

  it('rejects unknown schemes and malformed URIs with SPEC_INVALID', () => {
    const err = (() => {
      try {
        parseLocation('gs://x/y', base);
      } catch (e) {
        return e as BatchscoreError;
      }
      throw new Error('no error');
    })();
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.message).toBe('unknown URI scheme "gs:" in "gs://x/y": expected file:// or s3://');
    for (const bad of ['http://host/x', 's3://', 's3:///prefix', 'file://otherhost/x', '', 'file:']) {
      expect(() => parseLocation(bad, base)).toThrow(expect.objectContaining({ code: 'SPEC_INVALID' }));
    }
  });

  it('openStore roots a LocalStore at the path; relative against baseDir', async () => {
    const dir = freshDir();
    const a = openStore(`file://${dir}/`);
    expect(a).toBeInstanceOf(LocalStore);
    expect(a.rootUri).toBe(`${pathToFileURL(dir).href}/`);
    const b = openStore('sub/out', { baseDir: dir });
    expect(b.rootUri).toBe(`${pathToFileURL(path.join(dir, 'sub', 'out')).href}/`);
    await b.put('k', 'v');
    expect(await fs.readFile(path.join(dir, 'sub', 'out', 'k'), 'utf8')).toBe('v');
  });

  it('openStore with s3:// gives a lazily loaded S3 store with the right root (no network)', () => {
    const s = openStore('s3://bkt/runs/r1', { s3: { endpoint: 'http://127.0.0.1:1', forcePathStyle: true } });
    expect(s).toBeInstanceOf(LazyS3Store);
    expect(s.rootUri).toBe('s3://bkt/runs/r1/');
    expect(s.uriOf('x/y')).toBe('s3://bkt/runs/r1/x/y');
    expect(s.uriOf('x/')).toBe('s3://bkt/runs/r1/x/');
    expect(openStore('s3://bkt').rootUri).toBe('s3://bkt/');
  });

  it('openObject opens the containing folder and returns the basename', async () => {
    const dir = freshDir();
    await new LocalStore(dir).put('models/m.onnx', 'weights');
    const open = (u: string) => openStore(u, { s3: { endpoint: 'http://127.0.0.1:1' } });
    const { store, key } = openObject(open, pathToFileURL(path.join(dir, 'models', 'm.onnx')).href);
    expect(key).toBe('m.onnx');
    expect(store.rootUri).toBe(`${pathToFileURL(path.join(dir, 'models')).href}/`);
    expect(new TextDecoder().decode(await store.get(key))).toBe('weights');

    const s3 = openObject(open, 's3://bkt/a/b/model.onnx');
    expect(s3.key).toBe('model.onnx');
    expect(s3.store.rootUri).toBe('s3://bkt/a/b/');
    const top = openObject(open, 's3://bkt/model.onnx');
    expect(top.key).toBe('model.onnx');
    expect(top.store.rootUri).toBe('s3://bkt/');
  });
});
