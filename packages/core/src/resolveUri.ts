import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JsonSchema } from './schema/node.js';
import { show } from './schema/show.js';

/** Names of data files: an input URI ending in one names that file, not a folder. */
const DATA_FILE = /\.(parquet|parq|pq|csv|tsv|jsonl|ndjson|json)$/i;
const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/;

/**
 * Resolves a URI from the job file: s3:// stays; file: URIs and plain paths become absolute file:// URIs,
 * relative ones against the job file's folder. Folders (inputs, outputs) get a trailing '/'.
 * `folder: 'auto'` (inputs): a folder unless the last segment has a data file's extension.
 */
export function resolveUri(
  s: string,
  baseDir: string,
  folderOpt: boolean | 'auto',
): { uri: string } | { error: string } {
  const folder = folderOpt === 'auto' ? !DATA_FILE.test(s) : folderOpt;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
  const scheme = m?.[1]?.toLowerCase();
  const slash = (u: string) => (folder && !u.endsWith('/') ? u + '/' : u);
  if (scheme === 's3') {
    const mm = S3_URI.exec(s);
    if (!mm) return { error: `${show(s)} is not a valid s3://bucket/key URI` };
    if (!folder && (!mm[2] || mm[2].endsWith('/'))) return { error: `${show(s)} must name an object, not a folder` };
    return { uri: slash(mm[2] ? s : s + '/') };
  }
  if (scheme === 'file' || scheme === undefined || /^[a-zA-Z]:[\\/]/.test(s)) {
    // Schemes are case-insensitive (RFC 3986): FILE:///x is file:///x.
    let p = scheme === 'file' ? s.replace(/^file:(\/\/)?/i, '') : s;
    if (scheme === 'file' && /^file:\/\/(?!\/)/i.test(s)) {
      return {
        error: `${show(s)}: file URIs with a host are not supported; use file:///absolute/path or a relative path`,
      };
    }
    // Only URIs are %-encoded; a plain path means exactly what it says ("100%/" included).
    if (scheme === 'file') {
      try {
        p = decodeURIComponent(p);
      } catch {
        return { error: `${show(s)} has a malformed %-escape` };
      }
    }
    const abs = path.resolve(baseDir, p);
    if (!folder && s.endsWith('/')) return { error: `${show(s)} must name a file, not a folder` };
    // '{' of "{date}" must survive until the date is known; everything else ('#', '?', '%') is escaped.
    return { uri: slash(pathToFileURL(abs).href.replace(/%7B/g, '{').replace(/%7D/g, '}')) };
  }
  return { error: `unknown URI scheme "${scheme}:" in ${show(s)}: expected s3://, file:// or a path` };
}

/**
 * What resolveUri accepts, as JSON Schema keywords: an s3:// URI, a file: URI without a host, a Windows path, or a
 * path with no scheme; `folder: false` (a model): naming a file or object, not a folder. RE2-compatible (Helm).
 */
export function uriJsonSchema(folder: boolean | 'auto'): JsonSchema {
  const bucket = S3_URI.source.slice(0, S3_URI.source.indexOf('(\\/'));
  const forms = [
    { pattern: folder === false ? `${bucket}\\/.*[^/]$` : S3_URI.source },
    { pattern: '^[fF][iI][lL][eE]:([^/]|\\/[^/]|\\/\\/\\/|$)' },
    { pattern: '^[a-zA-Z]:[\\\\/]' },
    { not: { pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*:' } },
  ];
  return { anyOf: forms, ...(folder === false ? { not: { pattern: '/$' } } : {}) };
}
