/**
 * The one answer to "might a later try succeed?", for every client batchscore has: the S3 store, the local store,
 * the Kubernetes client and the webhook. A yes makes the failure retryable (exit 75, which Argo's retryStrategy
 * and `run --local` retry); a no fails at once.
 */

/** Error codes (Node errno, undici) of failures a later try may not meet: the network, and a busy or full disk. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  // network
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  // DNS: a name that does not resolve now may resolve later (a resolver outage, a service not yet registered)
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  // file system: busy, out of descriptors, or full (space is freed, quotas are raised)
  'EIO',
  'EAGAIN',
  'EBUSY',
  'EMFILE',
  'ENFILE',
  'ENOSPC',
  'EDQUOT',
]);

/** Error names (AWS SDK error types, timeouts) of failures a later try may not meet. */
export const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

/** HTTP statuses worth another try: timeout, throttling, server errors. */
export function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500 && status <= 599);
}

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  errno?: unknown;
  cause?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * The names and codes an error carries, its causes' and (an AggregateError, as Node's happy-eyeballs connect
 * throws) its members' too: fetch wraps the errno in `cause`, the SDK sets `code` or `name`.
 */
export function errorNames(err: unknown, depth = 0): string[] {
  const e = err as ErrorShape | null;
  if (e === null || typeof e !== 'object' || depth > 4) return [];
  const names = [e.name, e.code, e.Code].filter((n): n is string => typeof n === 'string');
  if (e.cause !== undefined) names.push(...errorNames(e.cause, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) names.push(...errorNames(inner, depth + 1));
  return names;
}

/** Whether a later try of what failed with `err` may succeed. */
export function isTransient(err: unknown): boolean {
  const status = (err as ErrorShape | null)?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && isTransientStatus(status)) return true;
  return errorNames(err).some((n) => TRANSIENT_CODES.has(n) || TRANSIENT_NAMES.has(n));
}
