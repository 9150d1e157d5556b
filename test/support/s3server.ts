/**
 * An S3 endpoint for tests: moto's standalone server (`python3 -m moto.server`) on a free local port, or, when
 * BATCHSCORE_TEST_S3_ENDPOINT is set, that external endpoint (MinIO, say; credentials then come from the env).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

export interface S3Server {
  endpoint: string;
  /** Creates a fresh, uniquely named bucket and returns its name. */
  bucket(name?: string): Promise<string>;
  /** A path-style client for the endpoint, with the test credentials. */
  client: S3Client;
  stop(): Promise<void>;
}

const TEST_CREDS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The environment a child process (the CLI, say) needs to reach the test endpoint through the default chain. */
export function s3Env(endpoint: string): Record<string, string> {
  const external = process.env.BATCHSCORE_TEST_S3_ENDPOINT !== undefined;
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: (external && process.env.AWS_ACCESS_KEY_ID) || TEST_CREDS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: (external && process.env.AWS_SECRET_ACCESS_KEY) || TEST_CREDS.secretAccessKey,
    AWS_REGION: (external && process.env.AWS_REGION) || 'us-east-1',
    BATCHSCORE_S3_FORCE_PATH_STYLE: '1',
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, stderrTail: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto server exited (${child.exitCode ?? child.signalCode}) before answering:\n${stderrTail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`moto server did not answer on ${url} within ${timeoutMs} ms:\n${stderrTail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const MOTO_LAUNCHER = `
import os, sys, threading, runpy
def watch():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ['moto.server'] + sys.argv[1:]
runpy.run_module('moto.server', run_name='__main__', alter_sys=True)
`;

let bucketCounter = 0;

export async function startS3(): Promise<S3Server> {
  const externalEndpoint = process.env.BATCHSCORE_TEST_S3_ENDPOINT;
  let endpoint: string;
  let child: ChildProcess | undefined;
  let onExit: (() => void) | undefined;

  if (externalEndpoint) {
    endpoint = externalEndpoint;
  } else {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    // `python3 -m moto.server -H 127.0.0.1 -p PORT`, plus a watchdog: moto exits when its stdin (a pipe from this
    // process) closes, so it dies with the test process even if that is killed without running 'exit' handlers.
    const proc = spawn('python3', ['-c', MOTO_LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    child = proc;
    let tail = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      tail = (tail + d).slice(-4000); // werkzeug logs every request here; keep only the end for diagnostics
    });
    const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
    onExit = () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    };
    process.once('exit', onExit);
    try {
      await Promise.race([waitForHttp(`${endpoint}/`, proc, () => tail, 20_000), spawnError]);
    } catch (err) {
      onExit();
      process.removeListener('exit', onExit);
      throw err;
    }
  }

  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: externalEndpoint ? process.env.AWS_REGION || 'us-east-1' : 'us-east-1',
    ...(externalEndpoint ? {} : { credentials: TEST_CREDS }),
  });
  const created: string[] = [];

  return {
    endpoint,
    client,
    async bucket(name = 'bs') {
      const base = name
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 30);
      const bucket = `${base}-${process.pid}-${++bucketCounter}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      created.push(bucket);
      return bucket;
    },
    async stop() {
      if (child) {
        const proc = child;
        if (proc.exitCode === null && proc.signalCode === null) {
          const exited = new Promise<void>((r) => proc.once('exit', () => r()));
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        if (onExit) process.removeListener('exit', onExit);
      } else {
        // External endpoint: empty and remove the buckets we made (best effort).
        for (const bucket of created) {
          try {
            let token: string | undefined;
            do {
              const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
              const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
              if (keys.length)
                await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
              token = page.IsTruncated ? page.NextContinuationToken : undefined;
            } while (token);
            await client.send(new DeleteBucketCommand({ Bucket: bucket }));
          } catch {
            // leave it
          }
        }
      }
      client.destroy();
    },
  };
}
