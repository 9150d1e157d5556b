import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../errors.js';
import { fsError } from './fsError.js';

const errno = (code: string, message = `${code}: something, write`) => Object.assign(new Error(message), { code });

describe('fsError: every errno to one class and one line naming the key and the file', () => {
  const cases: [errno: string, reading: boolean, code: string, exit: number, message: string][] = [
    ['ENOENT', true, 'STORE_NOT_FOUND', 65, 'get "a/b.parquet": no such file /out/a/b.parquet'],
    ['ENOTDIR', true, 'STORE_NOT_FOUND', 65, 'get "a/b.parquet": no such file /out/a/b.parquet'],
    [
      'EACCES',
      false,
      'STORE_DENIED',
      65,
      'get "a/b.parquet": permission denied on /out/a/b.parquet (EACCES: something, write)',
    ],
    [
      'EROFS',
      false,
      'STORE_DENIED',
      65,
      'get "a/b.parquet": permission denied on /out/a/b.parquet (EROFS: something, write)',
    ],
    [
      'ENOSPC',
      false,
      'STORE_TRANSIENT',
      75,
      'get "a/b.parquet": no space left on device at /out/a/b.parquet (ENOSPC); free some space and run it again',
    ],
    [
      'EDQUOT',
      false,
      'STORE_TRANSIENT',
      75,
      'get "a/b.parquet": disk quota exceeded at /out/a/b.parquet (EDQUOT); free some space and run it again',
    ],
    [
      'ENAMETOOLONG',
      false,
      'INPUT_INVALID',
      65,
      'get "a/b.parquet": /out/a/b.parquet: a name in this path is longer than the file ' +
        'system allows (ENAMETOOLONG; each folder or file name may be at most 255 bytes)',
    ],
    ['EIO', false, 'STORE_TRANSIENT', 75, 'get "a/b.parquet": EIO: something, write'],
    ['EMFILE', false, 'STORE_TRANSIENT', 75, 'get "a/b.parquet": EMFILE: something, write'],
    ['EBUSY', false, 'STORE_TRANSIENT', 75, 'get "a/b.parquet": EBUSY: something, write'],
    // Unknown to batchscore: a bug until shown otherwise.
    ['EXDEV', false, 'INTERNAL', 70, 'get "a/b.parquet": EXDEV: something, write'],
  ];
  for (const [code, reading, want, exit, message] of cases) {
    it(`${code} → ${want} (exit ${exit})`, () => {
      const e = fsError(errno(code), 'get', 'a/b.parquet', '/out/a/b.parquet', reading);
      expect([e.code, exitCodeFor(e), e.message]).toEqual([want, exit, message]);
    });
  }

  it('ENOTDIR on a write is not "not found"', () => {
    expect(fsError(errno('ENOTDIR'), 'put', 'a', '/out/a', false).code).toBe('INTERNAL');
  });
});
