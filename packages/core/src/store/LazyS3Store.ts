import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo, ObjectStore, ReadOptions } from './ObjectStore.js';

type S3Module = typeof import('./S3Store.js');
let s3Module: Promise<S3Module> | undefined;
const clients = new Map<string, S3Client>();

/**
 * An S3 store that loads the AWS SDK on first use: importing it costs ~300 ms, which every local run and every
 * worker process would otherwise pay for nothing.
 */
export class LazyS3Store implements ObjectStore {
  readonly rootUri: string;
  private inner?: Promise<ObjectStore>;

  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly s3: { endpoint?: string; forcePathStyle?: boolean; client?: S3Client } = {},
  ) {
    const p = prefix === '' || prefix.endsWith('/') ? prefix : prefix + '/';
    this.rootUri = `s3://${bucket}/${p}`;
  }

  private store(): Promise<ObjectStore> {
    this.inner ??= (s3Module ??= import('./S3Store.js')).then((m) => {
      let client = this.s3.client;
      if (!client) {
        const forcePathStyle = this.s3.forcePathStyle ?? process.env.BATCHSCORE_S3_FORCE_PATH_STYLE === '1';
        const key = `${this.s3.endpoint ?? ''}\n${forcePathStyle}`;
        client =
          clients.get(key) ??
          m.makeS3Client({ ...(this.s3.endpoint ? { endpoint: this.s3.endpoint } : {}), forcePathStyle });
        clients.set(key, client);
      }
      return new m.S3Store({ bucket: this.bucket, prefix: this.prefix, client });
    });
    return this.inner;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.store()).list(prefix);
  }
  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.store()).head(key);
  }
  async get(key: string): Promise<Uint8Array> {
    return (await this.store()).get(key);
  }
  async getRange(key: string, start: number, end: number, opts?: ReadOptions): Promise<Uint8Array> {
    return (await this.store()).getRange(key, start, end, opts);
  }
  async getStream(key: string): Promise<ReadableStream<Uint8Array>> {
    return (await this.store()).getStream(key);
  }
  async put(key: string, body: Uint8Array | string): Promise<void> {
    return (await this.store()).put(key, body);
  }
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    return (await this.store()).putIfAbsent(key, body);
  }
  async move(fromKey: string, toKey: string): Promise<void> {
    return (await this.store()).move(fromKey, toKey);
  }
  async copy(fromKey: string, toKey: string): Promise<void> {
    return (await this.store()).copy(fromKey, toKey);
  }
  async copyFrom(source: ObjectStore, fromKey: string, toKey: string): Promise<void> {
    return (await this.store()).copyFrom(source, fromKey, toKey);
  }
  async s3Object(key: string): Promise<{ client: S3Client; bucket: string; key: string }> {
    return ((await this.store()) as unknown as import('./S3Store.js').S3Addressed).s3Object(key);
  }
  async delete(key: string): Promise<void> {
    return (await this.store()).delete(key);
  }
  async deleteMany(keys: string[], opts?: { concurrency?: number }): Promise<void> {
    return (await this.store()).deleteMany(keys, opts);
  }
  uriOf(key: string): string {
    if (key === '') return this.rootUri;
    return this.rootUri + key;
  }
}
