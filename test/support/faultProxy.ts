import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a request does to S3, told apart from the method, the query and the headers alone. */
export type S3RequestKind = 'list' | 'get' | 'head' | 'put' | 'copy' | 'delete' | 'deleteMany' | 'other';

export interface ProxiedRequest {
  /** 1-based count of every request the proxy has received. */
  n: number;
  method: string;
  url: string;
  kind: S3RequestKind;
}

export interface FaultOptions {
  /** Every n-th request is answered 503 SlowDown. */
  error503?: number;
  /** Every n-th request is answered 500 InternalError. */
  error500?: number;
  /** Every n-th GET response is cut off mid-body (the socket destroyed after half the bytes). */
  cutBody?: number;
  /** Every n-th request has its connection reset before any response; the request never reaches the server. */
  reset?: number;
  /** Every n-th request is forwarded (S3 applies it), then its connection is reset: the client never hears back. */
  resetAfterForward?: number;
  /** Every n-th request is never answered: the client must time out (its connection is held until `stop`). */
  stall?: number;
  /** Every request is answered 403 AccessDenied. */
  deny?: boolean;
  /** Each request waits this long before it is forwarded (to slow a stage down enough to kill it midway). */
  delayMs?: number;
  /**
   * Called as each request arrives, before any fault or delay. Returning 'reset' resets that request's connection
   * without forwarding it (a kill that lands before the request reached S3); '503' answers it 503 SlowDown and
   * '403' AccessDenied, also without forwarding it; `{ landed }`: it is forwarded whole, and once S3 has answered,
   * `landed` is called and the connection reset (a kill that lands just after the request did); otherwise it goes on
   * as usual.
   */
  onRequest?: (r: ProxiedRequest) => void | 'reset' | '503' | '403' | { delayMs: number } | { landed: () => void };
  /** Keep every forwarded request's kind, key, status and body bytes in `stats.log`. */
  record?: boolean;
}

export interface LoggedRequest {
  kind: S3RequestKind;
  method: string;
  /** The path without the bucket, and the query: `in/part-000.parquet`. */
  key: string;
  status: number;
  /** Bytes of the answer's body (content-length). */
  bytes: number;
}

export function kindOf(method: string, url: string, headers: http.IncomingHttpHeaders): S3RequestKind {
  const u = new URL(url, 'http://x');
  // Path-style: /bucket or /bucket/key...
  const hasKey = u.pathname.replace(/^\/[^/]*\/?/, '') !== '';
  if (method === 'GET') return !hasKey || u.searchParams.has('list-type') ? 'list' : 'get';
  if (method === 'HEAD') return 'head';
  if (method === 'PUT') return headers['x-amz-copy-source'] ? 'copy' : 'put';
  if (method === 'DELETE') return 'delete';
  // DeleteObjects: one POST to the bucket with `?delete`, naming up to 1000 keys in its body.
  if (method === 'POST' && u.searchParams.has('delete')) return 'deleteMany';
  return 'other';
}

const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>` +
  `<RequestId>fault-proxy</RequestId></Error>`;

/**
 * An HTTP proxy in front of the test S3 server that injects faults (see FaultOptions) and counts what it did.
 * The every-n-th counters are over all requests (GETs only for cutBody). It listens on loopback only.
 */
export async function startFaultProxy(target: string, o: FaultOptions) {
  const upstream = new URL(target);
  const stats = {
    inFlight: 0,
    peakInFlight: 0,
    requests: 0,
    byKind: {} as Partial<Record<S3RequestKind, number>>,
    gets: 0,
    injected503: 0,
    injected500: 0,
    cut: 0,
    reset: 0,
    resetAfterForward: 0,
    stalled: 0,
    denied: 0,
    stalledKinds: [] as S3RequestKind[],
    /** Summed time requests were in flight: over a stage's wall time, the requests in flight on average. */
    busyMs: 0,
    /**
     * performance.now() of the first request's arrival and of the last answer's end: the span requests were made in.
     */
    firstAt: 0,
    lastAt: 0,
    log: [] as LoggedRequest[],
  };
  const server = http.createServer((req, res) => {
    const n = ++stats.requests;
    // Requests in flight at once, counted from arrival until the answer is done (or the socket closed).
    stats.peakInFlight = Math.max(stats.peakInFlight, ++stats.inFlight);
    const arrived = performance.now();
    if (n === 1) stats.firstAt = arrived;
    let counted = true;
    const settle = () => {
      if (counted) {
        stats.inFlight--;
        stats.lastAt = performance.now();
        stats.busyMs += stats.lastAt - arrived;
      }
      counted = false;
    };
    res.on('close', settle);
    const g = req.method === 'GET' ? ++stats.gets : 0;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const kind = kindOf(method, url, req.headers);
    stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
    const hook = o.onRequest?.({ n, method, url, kind });
    // A held request keeps its caller busy (a pod stays Running) for as long as a test needs to act on it.
    const held = typeof hook === 'object' && hook !== null && 'delayMs' in hook ? hook.delayMs : 0;
    const landed = typeof hook === 'object' && hook !== null && 'landed' in hook ? hook.landed : undefined;
    if (hook === 'reset') {
      req.socket.destroy();
      return;
    }
    if (hook === '503' || hook === '403') {
      const status = Number(hook);
      if (status === 503) stats.injected503++;
      else stats.denied++;
      req.resume();
      req.on('end', () => {
        // HEAD answers carry no body; the client then knows the error only by its status.
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(
          method === 'HEAD'
            ? undefined
            : status === 503
              ? xmlError('SlowDown', 'Please reduce your request rate.')
              : xmlError('AccessDenied', 'Access Denied'),
        );
      });
      return;
    }
    const every = (k: number | undefined) => k !== undefined && k > 0 && n % k === 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (o.deny) {
        stats.denied++;
        // HEAD answers carry no body; the client then knows the error only by its status.
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(method === 'HEAD' ? undefined : xmlError('AccessDenied', 'Access Denied'));
        return;
      }
      if (every(o.error503)) {
        stats.injected503++;
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end(xmlError('SlowDown', 'Please reduce your request rate.'));
        return;
      }
      if (every(o.error500)) {
        stats.injected500++;
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end(xmlError('InternalError', 'We encountered an internal error. Please try again.'));
        return;
      }
      if (every(o.reset)) {
        stats.reset++;
        res.socket?.destroy();
        return;
      }
      if (every(o.stall)) {
        stats.stalled++;
        stats.stalledKinds.push(kind);
        return; // never answered; the socket stays open until the client gives up or the proxy stops
      }
      if (o.delayMs || held) await new Promise((r) => setTimeout(r, (o.delayMs ?? 0) + held));
      const resetAfter = every(o.resetAfterForward) || landed !== undefined;
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method, path: url, headers: req.headers },
        (ur) => {
          if (resetAfter) {
            // S3 has done the request; its answer is read in full and thrown away.
            if (!landed) stats.resetAfterForward++;
            ur.resume();
            ur.on('end', () => {
              landed?.();
              res.socket?.destroy();
            });
            return;
          }
          if (o.record) {
            const u = new URL(url, 'http://x');
            const key = decodeURIComponent(u.pathname.replace(/^\/[^/]*\/?/, '')) + u.search;
            stats.log.push({
              kind,
              method,
              key,
              status: ur.statusCode ?? 0,
              bytes: Number(ur.headers['content-length'] ?? 0),
            });
          }
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
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections(); // stalled requests and idle keep-alive sockets
      }),
  };
}
