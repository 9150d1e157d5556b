import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, s3Env, type S3Server } from '../../../../test/support/s3server.js';
import { storeContract } from '../../../../test/support/storeContract.js';
import { BatchscoreError } from '../errors.js';
import { openObject } from '../storeFactory.js';
import { openStore } from './openStore.js';
import { makeS3Client, MULTIPART_THRESHOLD, S3Store, s3Error } from './S3Store.js';

let s3: S3Server;
let bucket: string;
let n = 0;

beforeAll(async () => {
  s3 = await startS3();
  bucket = await s3.bucket('contract');
});
afterAll(async () => {
  await s3?.stop();
});

// Each contract test gets its own prefix in one bucket.
storeContract('S3Store', async () => new S3Store({ bucket, prefix: `t${n++}/`, client: s3.client }));

const fresh = () => new S3Store({ bucket, prefix: `x${n++}`, client: s3.client });

function pattern(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('S3Store specifics', () => {
  it('rootUri is s3://bucket/prefix/ and uriOf appends the key', () => {
    const s = new S3Store({ bucket: 'b', prefix: 'runs/r1', client: s3.client });
    expect(s.rootUri).toBe('s3://b/runs/r1/');
    expect(s.uriOf('out/part-0.parquet')).toBe('s3://b/runs/r1/out/part-0.parquet');
    expect(new S3Store({ bucket: 'b', prefix: '', client: s3.client }).rootUri).toBe('s3://b/');
  });

  it('objects sit at prefix + key in the bucket', async () => {
    const s = fresh();
    await s.put('a/b', 'v');
    const res = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: `${s.prefix}a/b` }));
    expect(await res.Body!.transformToString()).toBe('v');
  });

  it('a body over 8 MiB goes up as a multipart upload and reads back identically', async () => {
    const s = fresh();
    const big = pattern(MULTIPART_THRESHOLD + 1_000_003);
    await s.put('big.bin', big);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${s.prefix}big.bin` }));
    // Multipart ETags are "<md5 of part md5s>-<part count>".
    expect(head.ETag).toMatch(/-2"$/);
    expect(await s.head('big.bin')).toEqual({ key: 'big.bin', size: big.length, version: head.ETag });
    const back = await s.get('big.bin');
    expect(back.length).toBe(big.length);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(big))).toBe(0);
    // A footer read, as the Parquet reader does.
    const footer = await s.getRange('big.bin', big.length - 8, big.length);
    expect(Array.from(footer)).toEqual(Array.from(big.subarray(big.length - 8)));
    const mid = await s.getRange('big.bin', MULTIPART_THRESHOLD - 3, MULTIPART_THRESHOLD + 5);
    expect(Array.from(mid)).toEqual(Array.from(big.subarray(MULTIPART_THRESHOLD - 3, MULTIPART_THRESHOLD + 5)));
  });

  it('a body of exactly 8 MiB is a single PutObject', async () => {
    const s = fresh();
    await s.put('eight', pattern(MULTIPART_THRESHOLD));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${s.prefix}eight` }));
    expect(head.ETag).not.toMatch(/-\d+"$/);
    expect(head.ContentLength).toBe(MULTIPART_THRESHOLD);
  });

  it('putIfAbsent uses If-None-Match: the second call returns false', async () => {
    const s = fresh();
    expect(await s.putIfAbsent('_commit', 'one')).toBe(true);
    expect(await s.putIfAbsent('_commit', 'two')).toBe(false);
    expect(new TextDecoder().decode(await s.get('_commit'))).toBe('one');
  });

  it('list paginates past 1000 keys', async () => {
    const s = fresh();
    const keys = Array.from({ length: 1010 }, (_, i) => `p/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => s.put(k, 'x')));
    const listed = await s.list('p/');
    expect(listed.length).toBe(1010);
    expect(listed.map((o) => o.key)).toEqual(keys);
  });

  it(
    'deleteMany names up to 1000 keys a request: 2,005 keys are 3 DeleteObjects, at most ' + '`concurrency` at once',
    async () => {
      const sent: string[] = [];
      let inFlight = 0;
      let peak = 0;
      const counting = {
        send: async (cmd: { constructor: { name: string }; input: { Delete?: { Objects?: unknown[] } } }) => {
          sent.push(`${cmd.constructor.name} ${cmd.input.Delete?.Objects?.length}`);
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 20));
          inFlight--;
          return {};
        },
      } as unknown as S3Client;
      const s = new S3Store({ bucket: 'b', prefix: 'p/', client: counting });
      await s.deleteMany(
        Array.from({ length: 2005 }, (_, i) => `k${i}`),
        { concurrency: 2 },
      );
      expect(sent).toEqual(['DeleteObjectsCommand 1000', 'DeleteObjectsCommand 1000', 'DeleteObjectsCommand 5']);
      expect(peak).toBe(2);
      await s.deleteMany([]);
      expect(sent).toHaveLength(3);
    },
  );

  it('deleteMany: a key refused inside a 200 answer is an error of its kind, naming the key', async () => {
    const refusing = (Code: string) =>
      ({
        send: async () => ({
          Errors: [
            { Key: 'p/k1', Code, Message: `${Code} here` },
            { Key: 'p/k2', Code, Message: 'again' },
          ],
        }),
      }) as unknown as S3Client;
    const denied = new S3Store({ bucket: 'b', prefix: 'p/', client: refusing('AccessDenied') });
    await expect(denied.deleteMany(['k1', 'k2'])).rejects.toMatchObject({
      code: 'STORE_DENIED',
      message: expect.stringContaining('s3://b/p/k1'),
    });
    const busy = new S3Store({ bucket: 'b', prefix: 'p/', client: refusing('InternalError') });
    await expect(busy.deleteMany(['k1', 'k2'])).rejects.toMatchObject({
      code: 'STORE_TRANSIENT',
      retryable: true,
      message: expect.stringContaining('and 1 more keys failed'),
    });
    const gone = new S3Store({ bucket: 'b', prefix: 'p/', client: refusing('NoSuchKey') });
    await gone.deleteMany(['k1', 'k2']);
  });

  it('a missing bucket is STORE_NOT_FOUND, naming the s3:// URI', async () => {
    const s = new S3Store({ bucket: 'no-such-bucket-here', prefix: 'p/', client: s3.client });
    const err = (await s.get('k').catch((e: unknown) => e)) as BatchscoreError;
    expect(err).toBeInstanceOf(BatchscoreError);
    expect(err.code).toBe('STORE_NOT_FOUND');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('s3://no-such-bucket-here/p/k');
    expect(err.message).toContain('no such bucket');
    expect((err.cause as { name?: string }).name).toBe('NoSuchBucket');
    await expect(s.list('')).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
    await expect(s.put('k', 'v')).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
    expect(await s.head('k')).toBeUndefined();
  });

  it('a missing key is STORE_NOT_FOUND with the URI in the message and the SDK error as cause', async () => {
    const s = fresh();
    const err = (await s.get('nope').catch((e: unknown) => e)) as BatchscoreError;
    expect(err.code).toBe('STORE_NOT_FOUND');
    expect(err.message).toBe(`get s3://${bucket}/${s.prefix}nope: no such key`);
    expect((err.cause as { name?: string }).name).toBe('NoSuchKey');
  });

  it('wrong credentials are STORE_DENIED (moto checks them only when IAM auth is on: shape test via s3Error)', () => {
    const denied = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    expect(s3Error(denied, 'get', 's3://b/k')).toMatchObject({ code: 'STORE_DENIED', retryable: false });
    const slow = Object.assign(new Error('Please reduce your request rate.'), {
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503 },
    });
    expect(s3Error(slow, 'put', 's3://b/k')).toMatchObject({ code: 'STORE_TRANSIENT', retryable: true });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(s3Error(reset, 'get', 's3://b/k')).toMatchObject({ code: 'STORE_TRANSIENT', retryable: true });
    const odd = Object.assign(new Error('bad'), { name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
    expect(s3Error(odd, 'get', 's3://b/k')).toMatchObject({ code: 'INTERNAL' });
    expect(s3Error(odd, 'get', 's3://b/k').cause).toBe(odd);
  });

  it('a refused connection is STORE_TRANSIENT after the SDK retries', async () => {
    const client = new S3Client({
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
    });
    const s = new S3Store({ bucket: 'b', prefix: '', client });
    const err = (await s.get('k').catch((e: unknown) => e)) as BatchscoreError;
    expect(err.code).toBe('STORE_TRANSIENT');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('s3://b/k');
    client.destroy();
  });
});

describe('makeS3Client / openStore against the endpoint from the environment', () => {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    const env = s3Env(s3.endpoint);
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    saved.AWS_ENDPOINT_URL = process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL;
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('a client with no endpoint option reaches moto through AWS_ENDPOINT_URL_S3', async () => {
    const client = makeS3Client();
    const b = await s3.bucket('envclient');
    const s = new S3Store({ bucket: b, prefix: 'e/', client });
    await s.put('hello', 'world');
    // Read back through the harness client, so the object really is on moto.
    const res = await s3.client.send(new GetObjectCommand({ Bucket: b, Key: 'e/hello' }));
    expect(await res.Body!.transformToString()).toBe('world');
    expect(await s.list('')).toEqual([{ key: 'hello', size: 5, version: expect.any(String) }]);
    client.destroy();
  });

  it('openStore and openObject on s3:// URIs use the default-chain client', async () => {
    const b = await s3.bucket('open');
    const out = openStore(`s3://${b}/runs/r1/`);
    await out.put('models/m.onnx', 'weights');
    const { store, key } = openObject((u) => openStore(u), `s3://${b}/runs/r1/models/m.onnx`);
    expect(key).toBe('m.onnx');
    expect(new TextDecoder().decode(await store.get(key))).toBe('weights');
  });

  it('a bucket made through the env client is usable (CreateBucket via env endpoint)', async () => {
    const client = makeS3Client();
    const name = `envmade-${process.pid}`;
    await client.send(new CreateBucketCommand({ Bucket: name }));
    const s = new S3Store({ bucket: name, prefix: '', client });
    expect(await s.putIfAbsent('x', '1')).toBe(true);
    expect(await s.putIfAbsent('x', '2')).toBe(false);
    client.destroy();
  });
});
