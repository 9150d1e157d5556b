import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonDoc } from '../support/jsonDoc.js';
import { parse, stringify } from 'yaml';
import { writeCustomers } from '../support/data.js';
import { readManifest } from '../support/output.js';
import { clusterJob, expectExactlyOnce, useModelBucket } from './support/fixture.js';
import { batchscore, kubectl, newNamespace, ok, podNodes, sh, waitForWorkflow, type Workflow } from './support/kube.js';

/**
 * The GitOps path on the real engine (issue 15): the chart installs job files given as values; the controller runs
 * with templateReferencing: Strict, so only Workflows that reference an installed WorkflowTemplate run; a CronWorkflow
 * from the chart fires and publishes; `batchscore submit` and a server-side `batchscore backfill` (whose terminal is
 * gone once it has printed the parent's name) publish each date once; `helm upgrade` with a new threshold changes
 * the job's ConfigMap, not its WorkflowTemplate, and the next run applies it.
 */

const fx = useModelBucket('bs-gitops');
type Obj = JsonDoc;

// The chart against `batchscore render`, helm lint and the values schema: test/helm/renderEquality.test.ts (npm
// test, with each stack's helm). Here: the chart installed, upgraded and run on the real engine.
describe('GitOps on the real engine, the controller set to templateReferencing: Strict', () => {
  let ns: string;
  const jobDoc = async (name: string, prefix: string, extra = '', cluster = '') =>
    parse(
      await readFile(
        await clusterJob(fx, {
          name,
          prefix,
          rowsPerShard: 10_000,
          extra,
          cluster: `    retries: {limit: 2, backoff: {duration: 1s, factor: 1, maxDuration: 5m}}\n${cluster}`,
        }),
        'utf8',
      ),
    ) as Obj;
  const valuesFile = async (name: string, values: Obj) => {
    const file = path.join(fx.dir, `${name}.yaml`);
    await writeFile(file, stringify(values));
    return file;
  };
  const workflows = async (selector: string) =>
    (
      JSON.parse(await ok(kubectl(['-n', ns, 'get', 'workflows', '-l', selector, '-o', 'json']))) as {
        items: Workflow[];
      }
    ).items;
  const out = (prefix: string) => new S3Store({ bucket: fx.bucket, prefix: `${prefix}/out/`, client: fx.s3.client });

  beforeAll(async () => {
    await ok(
      kubectl([
        '-n',
        'argo',
        'patch',
        'configmap',
        'workflow-controller-configmap',
        '--type',
        'merge',
        '-p',
        JSON.stringify({ data: { workflowRestrictions: 'templateReferencing: Strict\n' } }),
      ]),
    );
    // A bare namespace: the chart brings the ServiceAccounts and Roles; the S3 Secret is the team's own.
    ns = await newNamespace('gitops', { bare: true });
    // The controller reloads its ConfigMap on change: wait until a self-contained Workflow is refused.
    for (let i = 0; ; i++) {
      const probe = await sh('kubectl', ['-n', ns, 'create', '-o', 'name', '-f', '-'], {
        input: stringify({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Workflow',
          metadata: { generateName: 'probe-' },
          spec: { entrypoint: 'x', templates: [{ name: 'x', suspend: {} }] },
        }),
      });
      const name = probe.stdout.trim().replace(/^workflow\.argoproj\.io\//, '');
      const wf = await waitForWorkflow(ns, name, 30_000).catch(() => undefined);
      await kubectl(['-n', ns, 'delete', 'workflow', name, '--wait=false']);
      if (wf?.status?.phase === 'Error' && /workflowTemplateRef/.test(wf.status.message ?? '')) break;
      if (i > 30)
        throw new Error(`the controller never applied templateReferencing: Strict: ${JSON.stringify(wf?.status)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
  afterAll(async () => {
    await kubectl([
      '-n',
      'argo',
      'patch',
      'configmap',
      'workflow-controller-configmap',
      '--type',
      'json',
      '-p',
      '[{"op":"remove","path":"/data/workflowRestrictions"}]',
    ]);
  });

  it(
    'helm install of a scheduled job: its CronWorkflow fires and publishes; a self-contained ' + 'Workflow is refused',
    async () => {
      const now = new Date();
      const candidates = [
        ...new Set([now, new Date(now.getTime() + 180_000)].map((t) => t.toISOString().slice(0, 10))),
      ];
      const tables = new Map<string, Awaited<ReturnType<typeof writeCustomers>>['table']>();
      for (const d of candidates)
        tables.set(d, (await writeCustomers(fx.store, `nightly/in/dt=${d}/`, 20_000, 10_000, 5_000)).table);
      const nightly = await jobDoc(
        'nightly',
        'nightly',
        '',
        '    schedule: {crons: ["* * * * *"], timezone: UTC, dateOffsetDays: 0}\n',
      );
      await ok(
        sh('helm', [
          'install',
          'nightly',
          'helm/batchscore',
          '-n',
          ns,
          '-f',
          await valuesFile('nightly', { jobs: [nightly] }),
          '--wait',
        ]),
      );
      let run: Workflow | undefined;
      for (let i = 0; i < 150 && !run; i++) {
        run = (await workflows('batchscore.dev/job=nightly'))[0];
        if (!run) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(run, 'the CronWorkflow fired no Workflow within 150 s').toBeDefined();
      const done = await waitForWorkflow(ns, run!.metadata.name);
      expect(done.status?.phase, JSON.stringify(done.status?.message)).toBe('Succeeded');
      const date = done.metadata.labels!['batchscore.dev/date']!;
      expect(candidates).toContain(date);
      await expectExactlyOnce(fx, 'nightly', date, tables.get(date)!);
      // Stop the schedule (the job leaves the release) before the other tests.
      await ok(sh('helm', ['uninstall', 'nightly', '-n', ns, '--wait']));

      const inline = await batchscore([
        'submit',
        await clusterJob(fx, { name: 'inline', prefix: 'inline', rowsPerShard: 10_000 }),
        '--date',
        '2024-09-01',
        '-n',
        ns,
        '--inline',
      ]);
      expect(inline.code, inline.stderr).toBe(0);
      const refused = await waitForWorkflow(ns, inline.stdout.trim(), 60_000);
      expect([refused.status?.phase, refused.status?.message]).toEqual([
        'Error',
        'workflows must use workflowTemplateRef to be executed when the controller is in reference mode',
      ]);
    },
  );

  it(
    'submit from the installed template Succeeds; a 5-date backfill on the server (--parallel ' +
      '2) publishes each date once after the command has exited; --skip-complete then runs ' +
      'plan alone',
    async () => {
      const dates = ['2024-09-01', '2024-09-02', '2024-09-03', '2024-09-04', '2024-09-05'];
      const tables = [];
      for (const d of dates)
        tables.push((await writeCustomers(fx.store, `daily/in/dt=${d}/`, 20_000, 10_000, 5_000)).table);
      const daily = await jobDoc('daily', 'daily');
      const jobFile = path.join(fx.dir, 'daily.yaml');
      await writeFile(jobFile, stringify(daily));
      const submitBefore = await batchscore(['submit', jobFile, '--date', dates[0]!, '-n', ns]);
      expect([submitBefore.code, submitBefore.stderr.trim().split('\n').at(-1)]).toEqual([
        65,
        expect.stringContaining(`workflowtemplate/batchscore-daily is not installed in namespace "${ns}"`),
      ]);
      await ok(
        sh('helm', [
          'install',
          'scoring',
          'helm/batchscore',
          '-n',
          ns,
          '-f',
          await valuesFile('scoring', { jobs: [daily] }),
          '--wait',
        ]),
      );

      const sub = await batchscore(['submit', jobFile, '--date', dates[0]!, '-n', ns, '--watch']);
      expect(sub.code, sub.stderr).toBe(0);
      expect(sub.stderr).toContain(`from workflowtemplate/batchscore-daily`);
      await expectExactlyOnce(fx, 'daily', dates[0]!, tables[0]!);

      const bf = await batchscore([
        'backfill',
        jobFile,
        '--from',
        dates[0]!,
        '--to',
        dates[4]!,
        '--parallel',
        '2',
        '-n',
        ns,
      ]);
      expect(bf.code, bf.stderr).toBe(0);
      const parent = bf.stdout.trim();
      // The command has exited: the cluster alone runs the dates from here.
      const done = await waitForWorkflow(ns, parent, 600_000);
      expect(done.status?.phase, JSON.stringify(done.status?.message)).toBe('Succeeded');
      const children = (await workflows(`batchscore.dev/backfill=${parent}`)).map(
        (w) => w as Workflow & { status: { startedAt: string; finishedAt: string } },
      );
      expect(children.map((c) => c.metadata.labels?.['batchscore.dev/date']).sort()).toEqual(dates);
      expect(children.map((c) => c.status?.phase)).toEqual(dates.map(() => 'Succeeded'));
      // At most 2 at once, and 2 at some point.
      const at = (t: number) =>
        children.filter((c) => Date.parse(c.status.startedAt) <= t && t < Date.parse(c.status.finishedAt)).length;
      const most = Math.max(...children.map((c) => at(Date.parse(c.status.startedAt))));
      expect(most).toBe(2);
      for (const [i, d] of dates.entries()) await expectExactlyOnce(fx, 'daily', d, tables[i]!);
      const finished = await Promise.all(dates.map(async (d) => (await readManifest(out('daily'), d)).finished_at));

      const again = await batchscore([
        'backfill',
        jobFile,
        '--from',
        dates[0]!,
        '--to',
        dates[4]!,
        '--parallel',
        '2',
        '--skip-complete',
        '-n',
        ns,
      ]);
      expect(again.code, again.stderr).toBe(0);
      expect((await waitForWorkflow(ns, again.stdout.trim(), 600_000)).status?.phase).toBe('Succeeded');
      const skipped = await workflows(`batchscore.dev/backfill=${again.stdout.trim()}`);
      expect(skipped).toHaveLength(5);
      for (const c of skipped)
        expect(podNodes(await waitForWorkflow(ns, c.metadata.name)).map((n) => n.templateName)).toEqual(['plan']);
      expect(await Promise.all(dates.map(async (d) => (await readManifest(out('daily'), d)).finished_at))).toEqual(
        finished,
      );
    },
  );

  it(
    'helm upgrade with a new threshold: the ConfigMap changes, the WorkflowTemplate does ' +
      'not, and the next run applies it',
    async () => {
      const get = async (kind: string, name: string) =>
        JSON.parse(await ok(kubectl(['-n', ns, 'get', kind, name, '-o', 'json']))) as Obj;
      const before = await get('workflowtemplate', 'batchscore-daily');
      const date = '2024-09-10';
      const { table } = await writeCustomers(fx.store, `daily/in/dt=${date}/`, 20_000, 10_000, 5_000);
      const daily = await jobDoc('daily', 'daily', '  validation: {maxInvalidFraction: 1, ranges: {age: {min: 40}}}\n');
      await ok(
        sh('helm', [
          'upgrade',
          'scoring',
          'helm/batchscore',
          '-n',
          ns,
          '-f',
          await valuesFile('scoring-2', { jobs: [daily] }),
          '--wait',
        ]),
      );
      const after = await get('workflowtemplate', 'batchscore-daily');
      expect(after.metadata.generation).toBe(before.metadata.generation);
      expect(after.spec).toEqual(before.spec);
      expect(parse((await get('configmap', 'batchscore-job-daily')).data['job.yaml']).spec.validation).toEqual({
        maxInvalidFraction: 1,
        ranges: { age: { min: 40 } },
      });

      const jobFile = path.join(fx.dir, 'daily-2.yaml');
      await writeFile(jobFile, stringify(daily));
      const sub = await batchscore(['submit', jobFile, '--date', date, '-n', ns, '--watch']);
      expect(sub.code, sub.stderr).toBe(0);
      const ages = table.getChild('age')!.toArray() as Float64Array;
      const young = ages.filter((a) => a < 40).length;
      const m = await readManifest(out('daily'), date);
      expect([m.record_count, m.quarantined_record_count]).toEqual([20_000 - young, young]);
      expect(young).toBeGreaterThan(0);
    },
  );
});
