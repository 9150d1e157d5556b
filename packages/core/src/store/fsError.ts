import { BatchscoreError, type ErrorCode } from '../errors.js';
import { isTransient } from '../transient.js';

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** What a full disk is called in messages, by errno. */
const FULL: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded' };

/**
 * Pure: maps a Node fs error to a BatchscoreError naming the key and the file. `reading`: ENOTDIR/EISDIR on a
 * read mean "no such object" (a path component is a file, or the key names a directory). A full disk is
 * retryable: nothing is published until the manifest is written, so a rerun once there is room resumes.
 */
export function fsError(err: unknown, op: string, key: string, file: string, reading: boolean): BatchscoreError {
  if (err instanceof BatchscoreError) return err;
  const errno = errnoOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  let code: ErrorCode;
  let message: string;
  if (errno === 'ENOENT' || (reading && (errno === 'ENOTDIR' || errno === 'EISDIR'))) {
    code = 'STORE_NOT_FOUND';
    message = `${op} ${JSON.stringify(key)}: no such file ${file}`;
  } else if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    code = 'STORE_DENIED';
    message = `${op} ${JSON.stringify(key)}: permission denied on ${file} (${detail})`;
  } else if (errno !== undefined && FULL[errno] !== undefined) {
    code = 'STORE_TRANSIENT';
    message = `${op} ${JSON.stringify(key)}: ${FULL[errno]} at ${file} (${errno}); free some space and run it again`;
  } else if (errno === 'ENAMETOOLONG') {
    // The key comes from the job (output uri) and the data (partition values): retrying cannot shorten it.
    code = 'INPUT_INVALID';
    message =
      `${op} ${JSON.stringify(key)}: ${file}: a name in this path is longer than the file ` +
      `system allows (ENAMETOOLONG; each folder or file name may be at most 255 bytes)`;
  } else {
    code = isTransient(err) ? 'STORE_TRANSIENT' : 'INTERNAL';
    message = `${op} ${JSON.stringify(key)}: ${detail}`;
  }
  return new BatchscoreError(code, message, { cause: err });
}
