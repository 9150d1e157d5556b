import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of the test S3 server that injects faults: every `error503`-th request is answered
 * 503 SlowDown, and every `cutBody`-th GET response is cut off mid-body (the socket destroyed after half the bytes).
 * It listens on loopback only and counts what it did.
 */
export async function startFaultProxy(target: string, o: { error503?: number; cutBody?: number }) {
  const upstream = new URL(target);
  const stats = { requests: 0, gets: 0, injected503: 0, cut: 0 };
  const server = http.createServer((req, res) => {
    const n = ++stats.requests;
    const g = req.method === 'GET' ? ++stats.gets : 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (o.error503 && n % o.error503 === 0) {
        stats.injected503++;
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (ur) => {
          const cut = o.cutBody && g > 0 && g % o.cutBody === 0 && Number(ur.headers['content-length'] ?? 0) > 16;
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          if (!cut) {
            ur.pipe(res);
            return;
          }
          stats.cut++;
          const half = Math.floor(Number(ur.headers['content-length']) / 2);
          let sent = 0;
          ur.on('data', (c: Buffer) => {
            if (sent >= half) return;
            const part = c.subarray(0, half - sent);
            sent += part.length;
            res.write(part);
            if (sent >= half) res.socket?.destroy();
          });
        },
      );
      up.on('error', () => res.socket?.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
