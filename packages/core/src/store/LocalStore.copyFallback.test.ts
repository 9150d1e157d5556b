import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// link(2) fails as it does on a file system without hard links (FAT, some network mounts): EPERM, or EXDEV.
const linkError = vi.hoisted(() => ({ errno: 'EPERM' }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    link: async () => Promise.reject(Object.assign(new Error(`link: ${linkError.errno}`), { code: linkError.errno })),
  };
});

const fs = await import('node:fs/promises');
const { LocalStore } = await import('./LocalStore.js');

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bs-copyfallback-'));
afterAll(() => fs.rm(root, { recursive: true, force: true }));

describe('LocalStore.copy where hard links fail', () => {
  it.each(['EPERM', 'EXDEV'])(
    '%s: the bytes are copied instead, into place by rename, with no temp file left',
    async (errno) => {
      linkError.errno = errno;
      const dir = path.join(root, errno);
      const store = new LocalStore(dir);
      await store.put('s/part.staged', 'bytes');
      await store.copy('s/part.staged', 'out/part.parquet');
      expect(new TextDecoder().decode(await store.get('out/part.parquet'))).toBe('bytes');
      const [a, b] = await Promise.all([
        fs.stat(path.join(dir, 's', 'part.staged')),
        fs.stat(path.join(dir, 'out', 'part.parquet')),
      ]);
      expect(b.ino).not.toBe(a.ino);
      expect((await fs.readdir(path.join(dir, 'out'))).sort()).toEqual(['part.parquet']);
    },
  );

  it('another link error is reported, not papered over', async () => {
    linkError.errno = 'EIO';
    const store = new LocalStore(path.join(root, 'eio'));
    await store.put('s/part.staged', 'bytes');
    await expect(store.copy('s/part.staged', 'out/part.parquet')).rejects.toMatchObject({ code: 'STORE_TRANSIENT' });
    expect(await store.head('out/part.parquet')).toBeUndefined();
  });
});
