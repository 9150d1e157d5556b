import { describe, expect, it } from 'vitest';
import { isTransient, isTransientStatus } from './transient.js';

describe('isTransient: one classification for S3, Kubernetes, webhooks and the local disk', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    'ECONNRESET',
    'ECONNREFUSED',
    'ETIMEDOUT',
    'EAI_AGAIN',
    'ENOTFOUND',
    'EPIPE',
    'UND_ERR_SOCKET',
    'ENOSPC',
    'EIO',
  ])('%s is transient', (code) => {
    expect(isTransient(errno(code))).toBe(true);
  });
  it.each(['EACCES', 'ENOENT', 'ENAMETOOLONG', 'ERR_INVALID_URL', 'DEPTH_ZERO_SELF_SIGNED_CERT'])(
    '%s is not',
    (code) => {
      expect(isTransient(errno(code))).toBe(false);
    },
  );
  it('finds the errno on a cause (fetch: "fetch failed") and in an AggregateError (happy-eyeballs connect)', () => {
    expect(isTransient(new TypeError('fetch failed', { cause: errno('ECONNREFUSED') }))).toBe(true);
    expect(isTransient(new AggregateError([errno('ENETUNREACH'), errno('ECONNREFUSED')]))).toBe(true);
    expect(isTransient(new TypeError('fetch failed', { cause: new Error('invalid url') }))).toBe(false);
  });
  it('SDK error names and HTTP statuses', () => {
    expect(isTransient(Object.assign(new Error('x'), { name: 'SlowDown' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { name: 'Weird', $metadata: { httpStatusCode: 503 } }))).toBe(
      true,
    );
    expect(isTransient(Object.assign(new Error('x'), { name: 'Weird', $metadata: { httpStatusCode: 400 } }))).toBe(
      false,
    );
    expect([408, 429, 500, 503, 599, 400, 403, 404, 600].map(isTransientStatus)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});
