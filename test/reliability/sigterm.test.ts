import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { startFaultProxy } from '../support/faultProxy.js';
import { readManifest } from '../support/output.js';
import { childPids, killQuietly, startCli, waitFor } from '../support/proc.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-08-08';
const STOPPED = new RegExp(
  String.raw`^batchscore: error \[STOPPED\]: stopped by SIGTERM; the parts already committ` +
    String.raw`ed are kept, and a rerun resumes after them$`,
);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM is what Kubernetes sends a pod before killing it: a stopped worker is retryable (75), as Argo retries. */
describe('SIGTERM stops score and run --local with exit 75 and one line', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => s3?.stop());

  /** Input and model behind a proxy that delays every request, so that scoring takes long enough to stop it midway. */
  async function slowJob() {
    const bucket = await s3.bucket('bs-term');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    await writeCustomers(store, 'in/', 40_000, 10_000, 1_000);
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-term-'));
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: `s3://${bucket}/in/`,
        model: `s3://${bucket}/models/credit.onnx`,
        output: `s3://${bucket}/out/`,
        rowsPerShard: 10_000,
      }),
    );
    const proxy = await startFaultProxy(s3.endpoint, { delayMs: 150 });
    return { job, proxy, out: new S3Store({ bucket, prefix: 'out/', client: s3.client }) };
  }

  it('score: exit 75, one line saying it was stopped and that a rerun resumes', async () => {
    const { job, proxy } = await slowJob();
    try {
      expect((await runCli(['plan', job, '--date', DATE], { env: s3Env(s3.endpoint) })).code).toBe(0);
      const gets = () => proxy.stats.gets;
      const p = startCli(['score', job, '--date', DATE, '--shard', '0'], { env: s3Env(proxy.endpoint) });
      // Mid-shard: the plan and model are read and the input's row groups are being fetched.
      await waitFor(() => gets() >= 4, 'score to be reading its input', 30_000);
      process.kill(p.pid, 'SIGTERM');
      const r = await p.exited;
      expect([r.code, r.signal], r.stderr).toEqual([75, null]);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('batchscore: error'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(STOPPED);
    } finally {
      await proxy.stop();
    }
  });

  it('run --local: its workers are stopped too, it exits 75 with one line, and a rerun completes', async () => {
    const { job, proxy, out } = await slowJob();
    let workers: number[] = [];
    try {
      const p = startCli(['run', job, '--local', '--date', DATE, '--workers', '2'], { env: s3Env(proxy.endpoint) });
      workers = await waitFor(
        () => {
          const pids = childPids(p.pid);
          return pids.length === 2 && proxy.stats.gets >= 8 ? pids : undefined;
        },
        'two workers scoring',
        60_000,
      );
      // The signal goes to the parent alone, as the kubelet sends it to a container's first process.
      process.kill(p.pid, 'SIGTERM');
      const r = await p.exited;
      expect([r.code, r.signal], r.stderr).toEqual([75, null]);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('batchscore: error'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(STOPPED);
      expect(workers.filter(alive)).toEqual([]);
    } finally {
      for (const pid of workers) killQuietly(pid); // left by a failed assertion only
      await proxy.stop();
    }
    const again = await runCli(['run', job, '--local', '--date', DATE], { env: s3Env(s3.endpoint) });
    expect(again.code, again.stderr).toBe(0);
    expect(await readManifest(out, DATE)).toMatchObject({ status: 'complete', record_count: 40_000, shard_count: 4 });
  });
});
