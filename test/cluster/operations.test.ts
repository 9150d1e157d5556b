import type * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { writeCustomers } from '../support/data.js';
import { startFaultProxy } from '../support/faultProxy.js';
import { startHttpSink } from '../support/httpSink.js';
import { s3Env } from '../support/s3server.js';
import { clusterJob, expectExactlyOnce as exactlyOnce, useModelBucket } from './support/fixture.js';
import {
  batchscore,
  createdName,
  kubectl,
  newNamespace,
  ok,
  podNodes,
  waitForWorkflow,
  type Workflow,
} from './support/kube.js';

const fx = useModelBucket('bs-ops');

/** A CPU job of 3 shards (30,000 rows in files of 10,000) on the fixture's bucket. */
const jobFile = (name: string, prefix: string, o: { endpoint?: string; extra?: string; cluster?: string } = {}) =>
  clusterJob(fx, {
    name,
    prefix,
    rowsPerShard: 10_000,
    ...o,
    cluster: `    retries: {limit: 2, backoff: {duration: 1s, factor: 1, maxDuration: 5m}}\n${o.cluster ?? ''}`,
  });

async function input(prefix: string, date: string): Promise<arrow.Table> {
  return (await writeCustomers(fx.store, `${prefix}/in/dt=${date}/`, 30_000, 10_000, 5_000)).table;
}

const expectExactlyOnce = (prefix: string, date: string, table: arrow.Table) => exactlyOnce(fx, prefix, date, table);

const submitRendered = async (job: string, date: string, ns: string) =>
  createdName(
    await ok(
      kubectl(['create', '-f', '-'], { input: await ok(batchscore(['render', job, '--date', date, '-n', ns])) }),
    ),
  );

describe('failures, notifications, mutex and semaphore on the real engine', () => {
  it(
    'a permanent failure (exit 65) is not retried: Failed, _batch_failure.json beside ' +
      'the output, and the notify pod posts the failure',
    async () => {
      const ns = await newNamespace('fail');
      const date = '2024-06-01';
      await input('fail', date);
      const hook = await startHttpSink();
      // Shard 1's commit record is refused (403 AccessDenied): STORE_DENIED, a permanent failure.
      let denied = 0;
      const proxy = await startFaultProxy(fx.s3.endpoint, {
        onRequest: (r) =>
          r.kind === 'put' && r.url.includes(`shards/00001/_commit.json`) ? (denied++, '403') : undefined,
      });
      try {
        await ok(
          kubectl([
            '-n',
            ns,
            'create',
            'secret',
            'generic',
            'batchscore-webhook',
            `--from-literal=url=${hook.url}/hook`,
          ]),
        );
        const job = await jobFile('credit-fail', 'fail', {
          endpoint: proxy.endpoint,
          extra: '  notify: {webhook: {urlFromEnv: BATCHSCORE_WEBHOOK_URL}}\n',
          cluster: '    webhookSecret: {name: batchscore-webhook, key: url}\n',
        });
        const wf = await waitForWorkflow(ns, await submitRendered(job, date, ns));
        expect(wf.status?.phase).toBe('Failed');
        const shard1 = podNodes(wf, 'score').filter((n) => n.name.includes('(1:'));
        expect(shard1.map((n) => [n.phase, n.outputs?.exitCode])).toEqual([['Failed', '65']]);
        expect(denied).toBe(1);
        const failure = JSON.parse(
          new TextDecoder().decode(
            await fx.store.get(`fail/out/batch_date=${date}/model_version=v3/_batch_failure.json`),
          ),
        ) as Record<string, unknown>;
        expect(failure).toMatchObject({
          status: 'failed',
          job: 'credit-fail',
          batch_date: date,
          model_version: 'v3',
          workflow: wf.metadata.name,
          workflow_status: 'Failed',
        });
        expect(
          await fx.store.head(`fail/out/batch_date=${date}/model_version=v3/_batch_manifest.json`),
        ).toBeUndefined();
        const posts = hook.received
          .filter((r) => r.url === '/hook')
          .map((r) => JSON.parse(r.body) as { event: string; status: string; batch_date: string });
        expect(posts.map((p) => [p.event, p.batch_date])).toEqual([['batchscore.run.failed', date]]);
      } finally {
        await proxy.stop();
        await hook.stop();
      }
    },
  );

  it(
    'two Workflows of one job and date: the mutex holds the second until the first ends; ' +
      'both Succeed; one publication',
    async () => {
      const ns = await newNamespace('mutex');
      const date = '2024-06-02';
      const table = await input('mutex', date);
      const job = await jobFile('credit-mutex', 'mutex');
      const first = await submitRendered(job, date, ns);
      const second = await submitRendered(job, date, ns);
      const [a, b] = [await waitForWorkflow(ns, first), await waitForWorkflow(ns, second)];
      expect([a.status?.phase, b.status?.phase]).toEqual(['Succeeded', 'Succeeded']);
      const end = (wf: Workflow) => Math.max(...podNodes(wf).map((n) => Date.parse(n.finishedAt!)));
      const start = (wf: Workflow) => Math.min(...podNodes(wf).map((n) => Date.parse(n.startedAt!)));
      // Whichever got the mutex first, the other's pods all ran after it ended.
      const [early, late] = start(a) < start(b) ? [a, b] : [b, a];
      expect(start(late)).toBeGreaterThanOrEqual(end(early));
      const m = await expectExactlyOnce('mutex', date, table);
      // The second run found the shards committed and the run complete: the manifest is the first run's.
      // (Argo's node times are whole seconds, truncated; the manifest's are milliseconds.)
      expect(Date.parse(m.finished_at)).toBeLessThan(end(early) + 1000);
    },
  );

  it(
    'the GPU semaphore caps score pods across workflows: two jobs, a cap of 1, never ' + 'two score pods at once',
    async () => {
      const ns = await newNamespace('sema');
      await ok(
        kubectl(['-n', ns, 'apply', '-f', '-'], {
          input: stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'batchscore-gpu' },
            data: { workers: '1' },
          }),
        }),
      );
      const date = '2024-06-03';
      const cluster = '    parallelism: 3\n    gpuSemaphore: {configMap: batchscore-gpu, key: workers}\n';
      const ta = await input('sema-a', date);
      const tb = await input('sema-b', date);
      const a = await submitRendered(await jobFile('credit-sema-a', 'sema-a', { cluster }), date, ns);
      const b = await submitRendered(await jobFile('credit-sema-b', 'sema-b', { cluster }), date, ns);
      const wfs = [await waitForWorkflow(ns, a), await waitForWorkflow(ns, b)];
      expect(wfs.map((w) => w.status?.phase)).toEqual(['Succeeded', 'Succeeded']);
      const pods = wfs
        .flatMap((w) => podNodes(w, 'score'))
        .sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!));
      expect(pods).toHaveLength(6);
      for (let i = 1; i < pods.length; i++)
        expect(Date.parse(pods[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(pods[i - 1]!.finishedAt!));
      await expectExactlyOnce('sema-a', date, ta);
      await expectExactlyOnce('sema-b', date, tb);
    },
  );
});

describe('batchscore submit and backfill --client against the real API server', () => {
  it(
    'submit --watch from the installed template: exit 0, per-shard progress and the real ' +
      'node names; backfill --client --parallel 2 --skip-complete skips the complete date',
    async () => {
      const ns = await newNamespace('submit');
      const dates = ['2024-07-01', '2024-07-02', '2024-07-03'];
      const tables = [];
      for (const d of dates) tables.push(await input('submit', d));
      const job = await jobFile('credit-submit', 'submit');
      await ok(kubectl(['-n', ns, 'apply', '-f', '-'], { input: await ok(batchscore(['render', job])) }));
      const watched = await batchscore(['submit', job, '--date', dates[0]!, '-n', ns, '--watch']);
      expect(watched.code, watched.stderr).toBe(0);
      // Progress per shard as the real controller reports it, and the Node the real scheduler chose.
      const lines = watched.stderr.split('\n');
      const name = watched.stdout.trim();
      expect(
        lines.filter((l) => new RegExp(`^batchscore: ${name} Running shards [0-2]/3( on cpu-node-1)?$`).test(l)).length,
      ).toBeGreaterThan(0);
      expect(lines).toContain(`batchscore: ${name} Succeeded shards 3/3 on cpu-node-1`);
      await expectExactlyOnce('submit', dates[0]!, tables[0]!);

      // --skip-complete reads the manifests (and hashes the model) from where the operator runs it: S3 credentials.
      const back = await batchscore(
        [
          'backfill',
          job,
          '--from',
          dates[0]!,
          '--to',
          dates[2]!,
          '--parallel',
          '2',
          '--skip-complete',
          '--client',
          '-n',
          ns,
        ],
        { env: s3Env(fx.s3.endpoint) },
      );
      expect(back.code, back.stderr).toBe(0);
      expect(back.stderr + back.stdout).toMatch(new RegExp(`${dates[0]}.*skip`, 'i'));
      const list = JSON.parse(await ok(kubectl(['-n', ns, 'get', 'workflows', '-o', 'json']))) as { items: Workflow[] };
      expect(list.items.map((w) => w.metadata.labels?.['batchscore.dev/date']).sort()).toEqual(dates);
      for (const w of list.items) expect((await waitForWorkflow(ns, w.metadata.name)).status?.phase).toBe('Succeeded');
      for (const [i, d] of dates.entries()) await expectExactlyOnce('submit', d, tables[i]!);
    },
  );
});
