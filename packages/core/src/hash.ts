import { createHash } from 'node:crypto';
import type { ObjectStore } from './store/ObjectStore.js';

export async function sha256Of(store: ObjectStore, key: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  const stream = await store.getStream(key);
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: h.digest('hex'), bytes };
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
