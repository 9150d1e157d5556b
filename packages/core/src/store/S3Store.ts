import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BatchscoreError, type ErrorCode } from '../errors.js';
import { errorNames, isTransient, isTransientStatus } from '../transient.js';
import { checkKey, checkPrefix, checkRange, toBytes } from './checkKey.js';
import { mapLimit } from '../mapLimit.js';
import { inputChanged } from './inputChanged.js';
import { DELETE_BATCH, type ObjectInfo, type ObjectStore, type ReadOptions } from './ObjectStore.js';

/** Bodies up to this size go up in one PutObject; larger ones as a multipart upload of parts this size. */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
/**
 * Sockets the client keeps per host: requests in flight at once (spec.storage.concurrency above this gains nothing).
 */
export const MAX_SOCKETS = 256;
/**
 * Connect and idle timeout of every request, and deadline of a GET's body; BATCHSCORE_S3_READ_TIMEOUT_MS overrides it
 * (tests use a short one).
 */
const READ_TIMEOUT_MS = Number(process.env.BATCHSCORE_S3_READ_TIMEOUT_MS) || 60_000;
/**
 * A GET whose body was cut off (or stalled) after its answer began is read once more: the SDK retries requests
 * (maxAttempts), but not a body it has handed over. Only this retry is added to the SDK's: more layers would
 * multiply (see docs/commands.md, Retries).
 */
const BODY_RETRIES = 1;

/**
 * An S3 client for batchscore. Credentials always come from the SDK's default chain (env, profile, web identity,
 * IMDS...). Without an `endpoint` option the SDK itself honours AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
 */
export function makeS3Client(opts: { endpoint?: string; forcePathStyle?: boolean; region?: string } = {}): S3Client {
  const env = process.env;
  const forcePathStyle = opts.forcePathStyle ?? env.BATCHSCORE_S3_FORCE_PATH_STYLE === '1';
  const region = opts.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1');
  return new S3Client({
    region,
    forcePathStyle,
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    // Standard mode: exponential backoff with full jitter, retry quota; retries 5xx, throttling and network errors.
    maxAttempts: 5,
    retryMode: 'standard',
    // Without these a request whose answer never comes (a stalled PUT, HEAD, LIST or copy) waits forever: the SDK
    // sets no timeout. An idle socket (no byte either way for this long) fails the attempt as a TimeoutError, which
    // the SDK retries; large uploads are not cut short, since it is idle time, not total time.
    // The SDK's agents hold at most 50 sockets a host, and a request beyond that waits for one:
    // spec.storage.concurrency 64 (the default) got 50 requests in flight at the peak. MAX_SOCKETS lets any sensible
    // concurrency through.
    requestHandler: {
      connectionTimeout: READ_TIMEOUT_MS,
      socketTimeout: READ_TIMEOUT_MS,
      httpAgent: { maxSockets: MAX_SOCKETS },
      httpsAgent: { maxSockets: MAX_SOCKETS },
    },
  });
}

const DENIED_NAMES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

function statusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** Classifies an SDK (or network) error; `uri` is the object or prefix the operation was about. */
export function s3Error(err: unknown, op: string, uri: string): BatchscoreError {
  if (err instanceof BatchscoreError) return err;
  const names = errorNames(err);
  const status = statusOf(err);
  const has = (set: Set<string>) => names.some((n) => set.has(n));
  // The code (ENOTFOUND, SlowDown) says more than the class name 'Error'.
  const detail = `${names.find((n) => n !== 'Error') ?? 'Error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${
    err instanceof Error ? err.message : String(err)
  }`;
  let code: ErrorCode;
  let message: string;
  if (names.includes('NoSuchBucket')) {
    code = 'STORE_NOT_FOUND';
    message = `${op} ${uri}: no such bucket (${detail})`;
  } else if (names.includes('NoSuchKey') || names.includes('NotFound') || status === 404) {
    code = 'STORE_NOT_FOUND';
    message = `${op} ${uri}: no such key`;
  } else if (has(DENIED_NAMES) || status === 401 || status === 403) {
    code = 'STORE_DENIED';
    message = `${op} ${uri}: access denied (${detail})`;
  } else if (names.includes('KeyTooLongError')) {
    // The key comes from the job (output uri) and the data (partition values): retrying cannot shorten it.
    code = 'INPUT_INVALID';
    message = `${op} ${uri}: key too long (${detail}); an S3 key may be at most 1024 bytes`;
  } else if (isTransient(err) || isTransientStatus(status)) {
    code = 'STORE_TRANSIENT';
    message = `${op} ${uri}: transient failure (${detail})`;
  } else {
    code = 'INTERNAL';
    message = `${op} ${uri}: ${detail}`;
  }
  return new BatchscoreError(code, message, { cause: err });
}

/** S3's answer to a condition that no longer holds (If-Match, If-None-Match). */
function isPreconditionFailed(err: unknown): boolean {
  const names = errorNames(err);
  return statusOf(err) === 412 || names.includes('PreconditionFailed');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** URL-encodes each segment of `bucket/key` for CopySource, keeping the '/' separators. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** A store that can name an object for CopyObject (S3Store, and LazyS3Store once loaded). */
export interface S3Addressed {
  s3Object(key: string): Promise<{ client: S3Client; bucket: string; key: string }>;
}

/** An ObjectStore over `s3://bucket/prefix/`. */
export class S3Store implements ObjectStore {
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
  readonly client: S3Client;
  readonly rootUri: string;

  constructor(opts: { bucket: string; prefix: string; client: S3Client }) {
    if (!opts.bucket || /[/\s]/.test(opts.bucket)) {
      throw new BatchscoreError('SPEC_INVALID', `invalid S3 bucket name ${JSON.stringify(opts.bucket)}`);
    }
    this.bucket = opts.bucket;
    const p = opts.prefix.replace(/^\/+/, '');
    this.prefix = p === '' || p.endsWith('/') ? p : `${p}/`;
    this.client = opts.client;
    this.rootUri = `s3://${this.bucket}/${this.prefix}`;
  }

  /** Full S3 object key of a (validated) store key. */
  objectKey(key: string): string {
    checkKey(key);
    return this.prefix + key;
  }

  uriOf(key: string): string {
    if (key === '') return this.rootUri;
    if (key.endsWith('/')) return `s3://${this.bucket}/${this.objectKey(key.slice(0, -1))}/`;
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const full = this.prefix + prefix;
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token }),
        );
      } catch (err) {
        throw s3Error(err, 'list', `s3://${this.bucket}/${full}`);
      }
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined || !obj.Key.startsWith(this.prefix)) continue;
        const key = obj.Key.slice(this.prefix.length);
        if (key === '' || key.endsWith('/')) continue; // "folder" placeholder objects made by consoles and tools
        out.push({ key, size: obj.Size ?? 0, ...(obj.ETag ? { version: obj.ETag } : {}) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: res.ContentLength ?? 0, ...(res.ETag ? { version: res.ETag } : {}) };
    } catch (err) {
      // HEAD responses have no body, so a missing bucket looks like a missing key here: both are "absent".
      if (errorNames(err).includes('NotFound') || statusOf(err) === 404) return undefined;
      throw s3Error(err, 'head', this.uriOf(key));
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.objectKey(key);
    return this.read(key, 'get', { Bucket: this.bucket, Key });
  }

  async getRange(key: string, start: number, end: number, opts: ReadOptions = {}): Promise<Uint8Array> {
    const Key = this.objectKey(key);
    checkRange(key, start, end);
    if (end === start) return new Uint8Array(0); // HTTP ranges cannot express an empty range
    const Range = `bytes=${start}-${end - 1}`;
    // If-Match: S3 answers 412 instead of another object's bytes (an overwrite between plan and read).
    return this.read(key, 'getRange', { Bucket: this.bucket, Key, Range, IfMatch: opts.version });
  }

  /**
   * A GET and its body. The request is the SDK's to retry, under its connect and idle timeouts; the body, once
   * the answer has begun, is under one deadline (a body cut off mid-way can stall for good: seen through a
   * fault-injecting proxy) and read again at most BODY_RETRIES times (reads are idempotent).
   */
  private async read(
    key: string,
    op: string,
    input: { Bucket: string; Key: string; Range?: string; IfMatch?: string | undefined },
  ): Promise<Uint8Array> {
    for (let retry = 0; ; retry++) {
      const abort = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      let answered = false;
      try {
        const res = await this.client.send(new GetObjectCommand(input), { abortSignal: abort.signal });
        answered = true;
        if (res.Body === undefined) return new Uint8Array(0);
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            abort.abort();
            reject(Object.assign(new Error(`read timed out after ${READ_TIMEOUT_MS} ms`), { name: 'TimeoutError' }));
          }, READ_TIMEOUT_MS);
        });
        const body = res.Body.transformToByteArray();
        body.catch(() => {});
        return await Promise.race([body, deadline]);
      } catch (err) {
        if (input.IfMatch !== undefined && isPreconditionFailed(err))
          throw inputChanged(this.uriOf(key), `its ETag is no longer ${input.IfMatch}`);
        const e = s3Error(err, op, this.uriOf(key));
        if (!e.retryable || !answered || retry >= BODY_RETRIES) throw e;
        await new Promise((r) => setTimeout(r, 200 * (0.5 + Math.random())));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async getStream(key: string): Promise<ReadableStream<Uint8Array>> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (res.Body === undefined) return new Blob([]).stream() as ReadableStream<Uint8Array>;
      return res.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    } catch (err) {
      throw s3Error(err, 'getStream', this.uriOf(key));
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const Key = this.objectKey(key);
    const bytes = toBytes(body);
    try {
      if (bytes.byteLength <= MULTIPART_THRESHOLD) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes }));
      } else {
        // The object only appears when CompleteMultipartUpload succeeds; on failure Upload aborts the upload.
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key, Body: bytes },
          partSize: MULTIPART_THRESHOLD,
          queueSize: 4,
          leavePartsOnError: false,
        });
        await upload.done();
      }
    } catch (err) {
      throw s3Error(err, 'put', this.uriOf(key));
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: toBytes(body), IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || errorNames(err).includes('ConditionalRequestConflict')) {
        // When the SDK had to retry, an earlier try may have created the object and only its answer was lost
        // (a reset, a timeout): the retry then meets our own write. Ours if it holds exactly our bytes.
        if (((err as SdkErrorShape).$metadata?.attempts ?? 1) > 1)
          return equalBytes(await this.get(key), toBytes(body));
        return false;
      }
      throw s3Error(err, 'putIfAbsent', this.uriOf(key));
    }
  }

  async move(fromKey: string, toKey: string): Promise<void> {
    await this.copyAs('move', fromKey, toKey);
    await this.delete(fromKey);
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    await this.copyAs('copy', fromKey, toKey);
  }

  async copyFrom(source: ObjectStore, fromKey: string, toKey: string): Promise<void> {
    const src = await (source as Partial<S3Addressed>).s3Object?.(fromKey);
    // Through another client (another endpoint, or credentials): the bytes, read there and written here.
    if (!src || src.client !== this.client) return this.put(toKey, await source.get(fromKey));
    await this.copyObject('copy', src.bucket, src.key, source.uriOf(fromKey), toKey);
  }

  /** Where an object is for CopyObject: the client that reaches it, its bucket and its full key. */
  async s3Object(key: string): Promise<{ client: S3Client; bucket: string; key: string }> {
    return { client: this.client, bucket: this.bucket, key: this.objectKey(key) };
  }

  /** CopyObject: S3 copies the bytes itself (up to 5 GB), so nothing passes through this process. */
  private async copyAs(op: string, fromKey: string, toKey: string): Promise<void> {
    await this.copyObject(op, this.bucket, this.objectKey(fromKey), this.uriOf(fromKey), toKey);
  }

  private async copyObject(op: string, bucket: string, from: string, fromUri: string, toKey: string): Promise<void> {
    const to = this.objectKey(toKey);
    try {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: copySource(bucket, from) }),
      );
    } catch (err) {
      throw s3Error(err, `${op} to ${this.uriOf(toKey)} from`, fromUri);
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (errorNames(err).includes('NoSuchKey')) return;
      throw s3Error(err, 'delete', this.uriOf(key));
    }
  }

  async deleteMany(keys: string[], opts: { concurrency?: number } = {}): Promise<void> {
    // Every key is checked before the first request, so a bad one deletes nothing.
    const objects = keys.map((k) => ({ Key: this.objectKey(k) }));
    const batches: { Key: string }[][] = [];
    for (let i = 0; i < objects.length; i += DELETE_BATCH) batches.push(objects.slice(i, i + DELETE_BATCH));
    await mapLimit(batches, opts.concurrency ?? 1, async (Objects) => {
      const more = Objects.length > 1 ? ` (and ${Objects.length - 1} more keys)` : '';
      const where = `s3://${this.bucket}/${Objects[0]!.Key}${more}`;
      let res;
      try {
        // Quiet: the answer lists only the keys that failed. A key that does not exist counts as deleted.
        res = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } }),
        );
      } catch (err) {
        throw s3Error(err, 'deleteMany', where);
      }
      // A 200 answer can still refuse some keys (AccessDenied, InternalError): each is reported, not retried here;
      // a transient one is retryable like any request's (the orchestrator reruns the stage, which is idempotent).
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        const err = Object.assign(
          new Error(
            `${first.Message ?? first.Code}${failed.length > 1 ? ` (and ${failed.length - 1} more keys failed)` : ''}`,
          ),
          { name: first.Code ?? 'Error' },
        );
        throw s3Error(err, 'deleteMany', `s3://${this.bucket}/${first.Key ?? ''}`);
      }
    });
  }
}
