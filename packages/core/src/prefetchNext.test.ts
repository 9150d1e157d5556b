import { expect, test } from 'vitest';
import { prefetchNext } from './prefetchNext.js';

test(
  'asks the source for the next value while the consumer holds the current one, and ' + 'yields all in order',
  async () => {
    const log: string[] = [];
    async function* source() {
      for (let i = 0; i < 3; i++) {
        log.push(`produce ${i}`);
        yield i;
      }
      log.push('source done');
    }
    const got: number[] = [];
    for await (const v of prefetchNext(source())) {
      await new Promise((r) => setTimeout(r, 5));
      log.push(`consume ${v}`);
      got.push(v);
    }
    expect(got).toEqual([0, 1, 2]);
    expect(log).toEqual(['produce 0', 'produce 1', 'consume 0', 'produce 2', 'consume 1', 'source done', 'consume 2']);
  },
);

test('an error of the source reaches the consumer at the value it would have had, not before', async () => {
  async function* source() {
    yield 1;
    throw new Error('read failed');
  }
  const got: number[] = [];
  await expect(
    (async () => {
      for await (const v of prefetchNext(source())) {
        await new Promise((r) => setTimeout(r, 5));
        got.push(v);
      }
    })(),
  ).rejects.toThrow('read failed');
  expect(got).toEqual([1]);
});

test('a consumer that stops early closes the source', async () => {
  let closed = false;
  async function* source() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed = true;
    }
  }
  for await (const v of prefetchNext(source())) if (v === 2) break;
  expect(closed).toBe(true);
});
