import { BatchscoreError } from '../errors.js';

/** Basenames of LocalStore's in-flight temp files: `.<base>.tmp-<pid>-<counter>`. Never valid as keys, never listed. */
export const TEMP_NAME = /^\..+\.tmp-\d+-\d+$/;

function deny(what: string, value: string, rule: string): never {
  throw new BatchscoreError('STORE_DENIED', `invalid store ${what} ${JSON.stringify(value)}: ${rule}`);
}

function checkChars(what: string, value: string): void {
  if (value.startsWith('/')) deny(what, value, 'must be relative (no leading "/")');
  if (value.includes('\\')) deny(what, value, 'must not contain backslashes (use "/")');
  if (value.includes('\0')) deny(what, value, 'must not contain NUL characters');
}

function checkSegment(what: string, value: string, seg: string): void {
  if (seg === '') deny(what, value, 'must not contain empty path segments ("//" or a trailing "/")');
  if (seg === '..') deny(what, value, 'must not contain ".." segments');
  if (seg === '.') deny(what, value, 'must not contain "." segments');
}

/**
 * The one rule set for keys in every store: '/'-separated, relative, no '..', '.' or empty segments, no backslashes.
 * A key that breaks it could escape a local root, or name different objects on disk and in S3. Throws STORE_DENIED.
 */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '') deny('key', String(key), 'must not be empty');
  checkChars('key', key);
  for (const seg of key.split('/')) checkSegment('key', key, seg);
  const base = key.slice(key.lastIndexOf('/') + 1);
  if (TEMP_NAME.test(base)) deny('key', key, 'names like ".<name>.tmp-<pid>-<n>" are reserved for temporary files');
}

/**
 * A list prefix is matched as a plain string (as S3 does): '' lists everything, 'a/' lists the folder a, 'a/p' lists
 * a/p1, a/part... Every complete segment (all but the last) follows the key rules; the last may be partial or empty.
 */
export function checkPrefix(prefix: string): void {
  if (typeof prefix !== 'string') deny('prefix', String(prefix), 'must be a string');
  if (prefix === '') return;
  checkChars('prefix', prefix);
  const segs = prefix.split('/');
  for (const seg of segs.slice(0, -1)) checkSegment('prefix', prefix, seg);
}

/** Validates a byte range [start, end) for getRange. */
export function checkRange(key: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new BatchscoreError('INTERNAL', `invalid byte range [${start}, ${end}) for ${JSON.stringify(key)}`);
  }
}

export function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? new TextEncoder().encode(body) : body;
}
