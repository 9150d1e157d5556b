import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook, toFailedNotification } from './notify.js';

const n = toFailedNotification({
  job: 'j',
  batchDate: '2024-01-01',
  modelVersion: 'v1',
  code: 'INPUT_INVALID',
  message: 'bad',
});
const fast = { attempts: 3, baseDelayMs: 1, timeoutMs: 2_000 };

describe('postWebhook retries what isTransient says may pass, and nothing else', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  /** A webhook answering `statuses` in turn (the last one from then on); returns its URL and the request count. */
  async function webhook(statuses: number[]) {
    const seen = { requests: 0 };
    server = http.createServer((req, res) => {
      const status = statuses[Math.min(seen.requests++, statuses.length - 1)]!;
      req.resume();
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen };
  }

  it('503 then 429 then 200: three attempts', async () => {
    const { url, seen } = await webhook([503, 429, 200]);
    expect(await postWebhook(url, n, fast)).toEqual({ attempts: 3 });
    expect(seen.requests).toBe(3);
  });

  it('400: one attempt, WEBHOOK_FAILED (permanent)', async () => {
    const { url, seen } = await webhook([400]);
    await expect(postWebhook(url, n, fast)).rejects.toMatchObject({
      code: 'WEBHOOK_FAILED',
      retryable: false,
      message: 'webhook (spec.notify.webhook) answered HTTP 400; not retried',
    });
    expect(seen.requests).toBe(1);
  });

  it('a refused connection is retried, then WEBHOOK_FAILED (retryable) naming the errno', async () => {
    const { url } = await webhook([200]);
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await expect(postWebhook(url, n, fast)).rejects.toMatchObject({
      code: 'WEBHOOK_FAILED',
      retryable: true,
      message: 'webhook (spec.notify.webhook) failed 3 times (last: fetch failed (ECONNREFUSED))',
    });
  });

  it('a URL fetch cannot use fails at once, not after every attempt', async () => {
    await expect(
      postWebhook('ftp://127.0.0.1/hook', n, { ...fast, attempts: 50, baseDelayMs: 1_000 }),
    ).rejects.toMatchObject({ code: 'WEBHOOK_FAILED', retryable: false });
  });
});
