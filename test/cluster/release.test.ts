import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { writeCustomers } from '../support/data.js';
import { startFaultProxy } from '../support/faultProxy.js';
import { clusterJob, expectExactlyOnce, useModelBucket } from './support/fixture.js';
import { batchscore, kubectl, newNamespace, ok, podNodes, sh, waitForWorkflow, type Workflow } from './support/kube.js';

/**
 * The chart as Helm owns it on the real engine (issue 23): a fresh install's schedule fires on time (the cron hook,
 * argo-workflows#12332); a helm upgrade while a cron-started Workflow runs reaches only the job's ConfigMap, keeps the
 * CronWorkflow (its uid, its history) and lets the run finish; helm uninstall removes everything the release made;
 * two releases live side by side in one namespace; the longest job name is scheduled, fires and backfills.
 */

const fx = useModelBucket('bs-release');
// Kubernetes objects read back as JSON: the tests reach into any field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const job = async (name: string, prefix: string, o: { endpoint?: string; extra?: string; cluster?: string } = {}) =>
  parse(
    await readFile(
      await clusterJob(fx, {
        name,
        prefix,
        rowsPerShard: 10_000,
        ...o,
        cluster: `    retries: {limit: 2, backoff: {duration: 1s, factor: 1, maxDuration: 5m}}\n${o.cluster ?? ''}`,
      }),
      'utf8',
    ),
  ) as Obj;
const perMinute = '    schedule: {crons: ["* * * * *"], timezone: UTC, dateOffsetDays: 0}\n';
let files = 0;
async function helm(args: string[], values?: Obj): Promise<string> {
  const extra: string[] = [];
  if (values) {
    const file = path.join(fx.dir, `values-${files++}.yaml`);
    await writeFile(file, stringify(values));
    extra.push('-f', file);
  }
  return ok(sh('helm', [...args, ...extra], { timeoutMs: 600_000 }));
}
const get = async (ns: string, kind: string, name: string) =>
  JSON.parse(await ok(kubectl(['-n', ns, 'get', kind, name, '-o', 'json']))) as Obj;
const list = async (ns: string, kinds: string, selector: string) =>
  (JSON.parse(await ok(kubectl(['-n', ns, 'get', kinds, '-l', selector, '-o', 'json']))) as { items: Obj[] }).items;
/** The first Workflow the CronWorkflow starts (within `seconds`). */
async function firstCronRun(ns: string, cron: string, seconds = 150): Promise<Workflow> {
  for (let i = 0; i < seconds; i++) {
    const [run] = await list(ns, 'workflows', `workflows.argoproj.io/cron-workflow=${cron}`);
    if (run) return run as Workflow;
    await sleep(1000);
  }
  throw new Error(`cronworkflow ${ns}/${cron} fired no Workflow within ${seconds} s`);
}
/** Today and, if a UTC midnight falls within the next 3 minutes, tomorrow: the dates a per-minute run may score. */
const candidateDates = () => [
  ...new Set([Date.now(), Date.now() + 180_000].map((t) => new Date(t).toISOString().slice(0, 10))),
];
const released = (release: string) => `app.kubernetes.io/instance=${release}`;
/** Every object of these kinds labelled with the release, as kind/name. */
async function releaseObjects(ns: string, release: string): Promise<string[]> {
  const kinds = 'configmaps,workflowtemplates,cronworkflows,serviceaccounts,roles,rolebindings,jobs';
  return (await list(ns, kinds, released(release))).map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

describe('the chart under Helm on the real engine', () => {
  it(
    'helm install fires on time; helm upgrade of a threshold while a cron run is Running reaches only the ' +
      'ConfigMap, keeps the CronWorkflow and lets the run Succeed; helm uninstall removes it all',
    async () => {
      const ns = await newNamespace('upgrade', { bare: true });
      const dates = candidateDates();
      const tables = new Map<string, Awaited<ReturnType<typeof writeCustomers>>['table']>();
      for (const d of dates)
        tables.set(d, (await writeCustomers(fx.store, `nightly-up/in/dt=${d}/`, 30_000, 10_000, 5_000)).table);
      // The first run's first shard commit is held 60 s: the run stays Running while the release is upgraded.
      let held = 0;
      const proxy = await startFaultProxy(fx.s3.endpoint, {
        onRequest: (r) => {
          if (r.kind === 'put' && /shards\/\d+\/_commit\.json/.test(r.url) && held++ === 0) return { delayMs: 60_000 };
        },
      });
      try {
        const values = async (extra = '') => ({
          jobs: [await job('nightly-up', 'nightly-up', { endpoint: proxy.endpoint, extra, cluster: perMinute })],
        });
        const t0 = Date.now();
        await helm(['install', 'up', 'helm/batchscore', '-n', ns, '--wait'], await values());
        const cron = await get(ns, 'cronworkflow', 'batchscore-nightly-up');
        // The hook had Argo validate it with its template; the CronWorkflow itself is a release object, once.
        const template = await get(ns, 'workflowtemplate', 'batchscore-nightly-up');
        expect(cron.metadata.annotations).toMatchObject({
          'batchscore.dev/validated-with-template': template.metadata.uid,
          'meta.helm.sh/release-name': 'up',
        });
        expect(await list(ns, 'jobs', released('up'))).toEqual([]); // the hook Job is gone (hook-succeeded)
        const run = await firstCronRun(ns, 'batchscore-nightly-up');
        // The schedule fires on the minute after the install: well before Argo's 20-minute resync.
        expect(Date.now() - t0).toBeLessThan(150_000);
        for (let i = 0; held === 0 && i < 120; i++) await sleep(1000);
        // Its other shards' commits pass (held counts them too); the first stays held, so the run is Running.
        expect(held, 'the run reached its first commit').toBeGreaterThanOrEqual(1);
        expect((await get(ns, 'workflow', run.metadata.name)).status.phase).toBe('Running');

        const configMap = await get(ns, 'configmap', 'batchscore-job-nightly-up');
        await helm(
          ['upgrade', 'up', 'helm/batchscore', '-n', ns, '--wait'],
          await values('  validation: {maxInvalidFraction: 1, ranges: {age: {min: 40}}}\n'),
        );
        const cronAfter = await get(ns, 'cronworkflow', 'batchscore-nightly-up');
        // The same object, its spec untouched (its generation moves with Argo's status updates: the CRD has no
        // status subresource).
        expect(cronAfter.metadata.uid).toBe(cron.metadata.uid);
        expect(cronAfter.spec).toEqual(cron.spec);
        const templateAfter = await get(ns, 'workflowtemplate', 'batchscore-nightly-up');
        expect([templateAfter.metadata.uid, templateAfter.metadata.generation]).toEqual([
          template.metadata.uid,
          template.metadata.generation,
        ]);
        const configMapAfter = await get(ns, 'configmap', 'batchscore-job-nightly-up');
        expect(configMapAfter.metadata.uid).toBe(configMap.metadata.uid);
        expect(parse(configMapAfter.data['job.yaml']).spec.validation.ranges).toEqual({ age: { min: 40 } });

        // The run started before the upgrade goes on, with the job as planned, to Succeeded.
        const done = await waitForWorkflow(ns, run.metadata.name, 400_000);
        expect(done.status?.phase, JSON.stringify(done.status?.message)).toBe('Succeeded');
        const date = done.metadata.labels!['batchscore.dev/date']!;
        await expectExactlyOnce(fx, 'nightly-up', date, tables.get(date)!);
        // The CronWorkflow keeps its run in its history (its status and the run's owner).
        const owned = await list(ns, 'workflows', 'workflows.argoproj.io/cron-workflow=batchscore-nightly-up');
        expect(owned.map((w) => w.metadata.name)).toContain(run.metadata.name);
        expect(owned.find((w) => w.metadata.name === run.metadata.name)!.metadata.ownerReferences).toEqual([
          expect.objectContaining({ kind: 'CronWorkflow', uid: cron.metadata.uid }),
        ]);

        await helm(['uninstall', 'up', '-n', ns, '--wait']);
        expect(await releaseObjects(ns, 'up')).toEqual([]);
        // The CronWorkflow's runs go with it (they are owned by it), pods included.
        for (let i = 0; i < 60; i++) {
          const left = await list(ns, 'workflows,pods', 'workflows.argoproj.io/cron-workflow=batchscore-nightly-up');
          if (left.length === 0) break;
          await sleep(1000);
        }
        expect(await list(ns, 'workflows', 'batchscore.dev/job=nightly-up')).toEqual([]);
        expect(await list(ns, 'workflowtemplates,cronworkflows,configmaps', 'batchscore.dev/job')).toEqual([]);
      } finally {
        await proxy.stop();
      }
    },
  );

  it(
    'two releases, each with its own jobs and fullname, coexist in one namespace; each runs as its own ' +
      'ServiceAccount; uninstalling one leaves the other',
    async () => {
      const ns = await newNamespace('two', { bare: true });
      const date = '2024-10-01';
      const a = await writeCustomers(fx.store, `team-a/in/dt=${date}/`, 20_000, 10_000, 5_000);
      const b = await writeCustomers(fx.store, `team-b/in/dt=${date}/`, 20_000, 10_000, 5_000);
      const jobA = await job('team-a-daily', 'team-a');
      const jobB = await job('team-b-daily', 'team-b');
      await helm(['install', 'a', 'helm/batchscore', '-n', ns, '--wait'], { jobs: [jobA] });
      await helm(['install', 'b', 'helm/batchscore', '-n', ns, '--wait'], {
        jobs: [jobB],
        fullnameOverride: 'team-b',
      });
      expect(await releaseObjects(ns, 'a')).toEqual([
        'ConfigMap/batchscore-job-team-a-daily',
        'Role/batchscore-backfill',
        'Role/batchscore-workflow',
        'RoleBinding/batchscore-backfill',
        'RoleBinding/batchscore-workflow',
        'ServiceAccount/batchscore',
        'ServiceAccount/batchscore-backfill',
        'WorkflowTemplate/batchscore-backfill',
        'WorkflowTemplate/batchscore-team-a-daily',
      ]);
      expect(await releaseObjects(ns, 'b')).toEqual([
        'ConfigMap/batchscore-job-team-b-daily',
        'Role/team-b-backfill',
        'Role/team-b-workflow',
        'RoleBinding/team-b-backfill',
        'RoleBinding/team-b-workflow',
        'ServiceAccount/team-b',
        'ServiceAccount/team-b-backfill',
        'WorkflowTemplate/batchscore-team-b-daily',
        'WorkflowTemplate/team-b-backfill',
      ]);
      const submit = async (doc: Obj, extra: string[] = []) => {
        const file = path.join(fx.dir, `${doc.metadata.name}.yaml`);
        await writeFile(file, stringify(doc));
        const r = await batchscore(['submit', file, '--date', date, '-n', ns, ...extra]);
        expect(r.code, r.stderr).toBe(0);
        return r.stdout.trim();
      };
      const [runA, runB] = await Promise.all([submit(jobA), submit(jobB)]);
      for (const [run, sa] of [
        [runA, 'batchscore'],
        [runB, 'team-b'],
      ] as const) {
        const done = await waitForWorkflow(ns, run!);
        expect(done.status?.phase, JSON.stringify(done.status?.message)).toBe('Succeeded');
        expect((await get(ns, 'workflow', run!)).spec.workflowTemplateRef).toBeDefined();
        expect(((await get(ns, 'workflow', run!)).status.storedWorkflowTemplateSpec ?? {}).serviceAccountName).toBe(sa);
      }
      await expectExactlyOnce(fx, 'team-a', date, a.table);
      await expectExactlyOnce(fx, 'team-b', date, b.table);

      await helm(['uninstall', 'a', '-n', ns, '--wait']);
      expect(await releaseObjects(ns, 'a')).toEqual([]);
      expect((await releaseObjects(ns, 'b')).length).toBe(9);
      await helm(['uninstall', 'b', '-n', ns, '--wait']);
      expect(await releaseObjects(ns, 'b')).toEqual([]);
    },
  );

  it(
    'a 52-character job name: its CronWorkflow (52 characters) is scheduled and fires, and a backfill of ' +
      'two dates runs children within 63 characters',
    async () => {
      const ns = await newNamespace('long', { bare: true });
      const name = 'a-very-long-job-name-that-is-exactly-fifty-two-chars';
      expect(name).toHaveLength(52);
      const dates = candidateDates();
      const tables = new Map<string, Awaited<ReturnType<typeof writeCustomers>>['table']>();
      for (const d of [...dates, '2024-11-01', '2024-11-02'])
        tables.set(d, (await writeCustomers(fx.store, `long/in/dt=${d}/`, 20_000, 10_000, 5_000)).table);
      const doc = await job(name, 'long', { cluster: perMinute });
      await helm(['install', 'long', 'helm/batchscore', '-n', ns, '--wait'], { jobs: [doc] });
      const [cron] = await list(ns, 'cronworkflows', `batchscore.dev/job=${name}`);
      expect(cron!.metadata.name).toBe('batchscore-a-very-long-job-name-that-is-exactl-b78c4');
      const run = await firstCronRun(ns, cron!.metadata.name);
      expect(run.metadata.name.length).toBeLessThanOrEqual(63);
      const done = await waitForWorkflow(ns, run.metadata.name);
      expect(done.status?.phase, JSON.stringify(done.status?.message)).toBe('Succeeded');
      const date = done.metadata.labels!['batchscore.dev/date']!;
      await expectExactlyOnce(fx, 'long', date, tables.get(date)!);
      // Stop the schedule before the backfill (the schedule's next runs would share the mutex of their date).
      await ok(
        kubectl([
          '-n',
          ns,
          'patch',
          'cronworkflow',
          cron!.metadata.name,
          '--type',
          'merge',
          '-p',
          '{"spec":{"suspend":true}}',
        ]),
      );

      const file = path.join(fx.dir, `${name}.yaml`);
      await writeFile(file, stringify(doc));
      const bf = await batchscore(['backfill', file, '--from', '2024-11-01', '--to', '2024-11-02', '-n', ns]);
      expect(bf.code, bf.stderr).toBe(0);
      const parent = bf.stdout.trim();
      expect(parent.length).toBeLessThanOrEqual(52);
      const finished = await waitForWorkflow(ns, parent, 600_000);
      expect(finished.status?.phase, JSON.stringify(finished.status?.message)).toBe('Succeeded');
      const children = await list(ns, 'workflows', `batchscore.dev/backfill=${parent}`);
      expect(children.map((c) => c.metadata.name).sort()).toEqual([`${parent}-2024-11-01`, `${parent}-2024-11-02`]);
      for (const c of children) {
        expect(c.metadata.name.length).toBeLessThanOrEqual(63);
        expect(c.status.phase).toBe('Succeeded');
        expect(podNodes(c as Workflow).length).toBeGreaterThan(0);
      }
      for (const d of ['2024-11-01', '2024-11-02']) await expectExactlyOnce(fx, 'long', d, tables.get(d)!);
      await helm(['uninstall', 'long', '-n', ns, '--wait']);
      expect(await releaseObjects(ns, 'long')).toEqual([]);
    },
  );
});
