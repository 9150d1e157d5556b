import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { BatchscoreError } from '../errors.js';
import { LocalStore } from './LocalStore.js';
import type { ObjectStore } from './ObjectStore.js';
import { LazyS3Store } from './LazyS3Store.js';

export type Location = { scheme: 'file'; path: string } | { scheme: 's3'; bucket: string; prefix: string };

export interface OpenStoreOptions {
  /** Relative paths resolve against this; default process.cwd(). */
  baseDir?: string;
  s3?: { endpoint?: string; forcePathStyle?: boolean; client?: S3Client };
}

function invalid(uri: string, why: string): never {
  throw new BatchscoreError('SPEC_INVALID', `invalid location ${JSON.stringify(uri)}: ${why}`);
}

/**
 * Parses a location: `s3://bucket/prefix`, `file:///abs/path`, `file:rel/path`, or a plain path (absolute, or
 * relative to baseDir). File paths come back absolute; S3 prefixes come back as written (no leading '/').
 */
export function parseLocation(uri: string, baseDir: string): Location {
  if (typeof uri !== 'string' || uri.trim() === '') invalid(String(uri), 'empty');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  // A one-letter "scheme" would be a Windows drive letter; treat it as a path.
  const scheme = m && m[1]!.length > 1 ? m[1]!.toLowerCase() : undefined;
  if (scheme === undefined) return { scheme: 'file', path: path.resolve(baseDir, uri) };
  if (scheme === 's3') {
    const mm = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(uri);
    if (!mm) invalid(uri, 'expected s3://bucket/prefix');
    const bucket = mm[1]!;
    if (bucket === '' || /\s/.test(bucket)) invalid(uri, 'expected s3://bucket/prefix with a bucket name');
    return { scheme: 's3', bucket, prefix: (mm[2] ?? '').replace(/^\/+/, '') };
  }
  if (scheme === 'file') {
    if (uri.slice(0, 7).toLowerCase() === 'file://') {
      let p: string;
      try {
        p = fileURLToPath(uri);
      } catch (err) {
        throw new BatchscoreError(
          'SPEC_INVALID',
          `invalid file URI ${JSON.stringify(uri)}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      return { scheme: 'file', path: path.resolve(p) };
    }
    const rest = uri.slice('file:'.length);
    if (rest === '') invalid(uri, 'no path after "file:"');
    return { scheme: 'file', path: path.resolve(baseDir, rest) };
  }
  throw new BatchscoreError('SPEC_INVALID', `unknown URI scheme "${scheme}:" in "${uri}": expected file:// or s3://`);
}

/** Opens a store rooted at `uri` (a directory or an S3 bucket + prefix). */
export function openStore(uri: string, opts: OpenStoreOptions = {}): ObjectStore {
  const loc = parseLocation(uri, opts.baseDir ?? process.cwd());
  if (loc.scheme === 'file') return new LocalStore(loc.path);
  return new LazyS3Store(loc.bucket, loc.prefix, opts.s3);
}
