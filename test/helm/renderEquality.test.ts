// One renderer (issue 25): `helm template` of the chart gives, for every job and variant, exactly the objects
// `batchscore render` gives, but for the labels the chart sets on what it installs (the release as the instance,
// Helm as the manager, helm.sh/chart). The chart holds each object once (Argo CD's RepeatedResourceWarning), passes
// `helm lint --strict`, and states the Kubernetes versions CI runs. With every helm at hand: each stack's
// (`npm run cluster:build -- --stack NAME`: Helm 4 in current, Helm 3 in lts) and BATCHSCORE_HELM. Without any the
// tests are skipped, saying so; CI (.ci/run) builds the stacks first and sets BATCHSCORE_REQUIRE_HELM=1, which turns
// a missing helm into a failure.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { REPO } from '../support/cli.js';
import { helmBinaries } from '../support/stacks.js';
import { JOB_FILES, loadVariantJob, renderBackfillObjects, renderVariant } from '../render/variants.js';

// Kubernetes objects read back as JSON: the tests reach into any field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const run = promisify(execFile);
const helms = helmBinaries();
const dir = mkdtempSync(path.join(tmpdir(), 'bs-helm-'));
const NS = 'team-a';
const RELEASE = 'scoring';
const CHART_LABELS = {
  'app.kubernetes.io/instance': RELEASE,
  'app.kubernetes.io/managed-by': 'Helm',
  'helm.sh/chart': 'batchscore-0.1.0',
};

if (helms.length === 0) {
  if (process.env.BATCHSCORE_REQUIRE_HELM === '1')
    throw new Error('BATCHSCORE_REQUIRE_HELM=1 but no helm found: run `npm run cluster:build -- --stack NAME` first');
  console.warn('test/helm/renderEquality.test.ts: no helm found (npm run cluster:build, or BATCHSCORE_HELM): skipped');
}

const objects = (yaml: string): Obj[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o);
const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (a: Obj, b: Obj) => key(a).localeCompare(key(b));
let n = 0;
async function template(helm: string, values: Obj, extra: string[] = []): Promise<Obj[]> {
  const file = path.join(dir, `values-${n++}.yaml`);
  writeFileSync(file, stringify(values));
  const { stdout } = await run(helm, [
    'template',
    RELEASE,
    path.join(REPO, 'helm/batchscore'),
    '-n',
    NS,
    '-f',
    file,
    ...extra,
  ]);
  return objects(stdout);
}
/** What the chart should install for a rendered object: the same, with the release's labels over its own. */
function asChartInstalls(o: Obj): Obj {
  const c = structuredClone(o);
  c.metadata.labels = { ...c.metadata.labels, ...CHART_LABELS };
  if (c.kind === 'ConfigMap') c.data['job.yaml'] = parse(c.data['job.yaml']);
  return c;
}
const comparable = (o: Obj): Obj => {
  const c = structuredClone(o);
  if (c.kind === 'ConfigMap' && typeof c.data?.['job.yaml'] === 'string')
    c.data['job.yaml'] = parse(c.data['job.yaml']);
  return c;
};
const allJobs = () => Object.keys(JOB_FILES).map((v) => parse(loadVariantJob(v).text) as Obj);

describe.skipIf(helms.length === 0)('the chart gives what batchscore render gives', () => {
  for (const { name, helm } of helms) {
    describe(name, () => {
      it.each(Object.keys(JOB_FILES))('%s: the ConfigMap, WorkflowTemplate and CronWorkflow', async (variant) => {
        const { job, text } = loadVariantJob(variant);
        const fromHelm = (await template(helm, { jobs: [parse(text)] }))
          .filter((o) => o.metadata.labels?.['batchscore.dev/job'] === job.metadata.name)
          .map(comparable)
          .sort(byKey);
        const fromCli = renderVariant(variant, NS)
          .objects!.map((o) => asChartInstalls(o as Obj))
          .sort(byKey);
        expect(fromHelm.map(key)).toEqual(fromCli.map(key));
        expect(fromHelm).toEqual(fromCli);
      });

      it('the backfill template and its identity; with fullnameOverride, named after it', async () => {
        const kinds = ['ServiceAccount', 'Role', 'RoleBinding', 'WorkflowTemplate'];
        const backfill = (objs: Obj[]) =>
          objs.filter((o) => o.metadata.labels['app.kubernetes.io/component'] === 'backfill' && kinds.includes(o.kind));
        const fromCli = renderBackfillObjects(NS).map((o) => asChartInstalls(o as Obj));
        expect(backfill(await template(helm, {}))).toEqual(fromCli);
        const renamed = backfill(await template(helm, { fullnameOverride: 'team-b' }));
        expect(renamed.map((o) => o.metadata.name)).toEqual(kinds.map(() => 'team-b-backfill'));
        expect(renamed.find((o) => o.kind === 'WorkflowTemplate')!.spec.serviceAccountName).toBe('team-b-backfill');
        expect(renamed.find((o) => o.kind === 'RoleBinding')).toMatchObject({
          roleRef: { name: 'team-b-backfill' },
          subjects: [{ kind: 'ServiceAccount', name: 'team-b-backfill' }],
        });
      });

      it('every object once, every object labelled; the cron hook refreshes each CronWorkflow', async () => {
        const all = await template(helm, {
          jobs: allJobs(),
          gpuSemaphore: { create: true, workers: 4 },
        });
        const keys = all.map(key);
        expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
        for (const o of all) {
          expect(o.metadata.namespace, key(o)).toBe(NS);
          expect(o.metadata.labels, key(o)).toMatchObject({
            'app.kubernetes.io/name': 'batchscore',
            'app.kubernetes.io/version': '0.1.0',
            'app.kubernetes.io/component': expect.any(String),
            'app.kubernetes.io/part-of': expect.any(String),
            ...CHART_LABELS,
          });
        }
        const crons = all.filter((o) => o.kind === 'CronWorkflow').map((o) => o.metadata.name);
        expect(crons.sort()).toEqual([
          'batchscore-a-very-long-job-name-that-is-exactl-b78c4',
          'batchscore-credit-gpu',
          'batchscore-credit-risk',
        ]);
        const hook = all.find((o) => o.kind === 'Job')!;
        expect(hook.metadata.annotations).toEqual({
          'helm.sh/hook': 'post-install,post-upgrade',
          'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
          'argocd.argoproj.io/hook': 'Skip',
        });
        const c = hook.spec.template.spec.containers[0];
        expect([c.image, ...c.command, ...c.args.slice(0, 3)]).toEqual([
          'ghcr.io/batchscore/batchscore-worker:0.1.0-cpu',
          'batchscore',
          'refresh-schedules',
          '-n',
          NS,
        ]);
        expect(c.args.slice(3).sort()).toEqual(crons.sort());
        // Helm's own hooks aside, nothing else is a hook: the CronWorkflows are release objects only.
        expect(all.filter((o) => o.metadata.annotations?.['helm.sh/hook']).map(key)).toEqual([key(hook)]);
        expect(all.filter((o) => o.kind === 'CronWorkflow').map((o) => o.metadata.annotations)).toEqual(
          crons.map(() => ({ 'argocd.argoproj.io/sync-wave': '1' })),
        );
      });

      it('no cron hook without a schedule, or with cronHook.enabled false', async () => {
        const hookKinds = (objs: Obj[]) =>
          objs.filter((o) => o.metadata.labels['app.kubernetes.io/component'] === 'cron-hook').map((o) => o.kind);
        expect(hookKinds(await template(helm, { jobs: [parse(loadVariantJob('cpu').text)] }))).toEqual([]);
        expect(hookKinds(await template(helm, { jobs: allJobs(), cronHook: { enabled: false } }))).toEqual([]);
        expect(hookKinds(await template(helm, { jobs: allJobs() }))).toEqual([
          'ServiceAccount',
          'Role',
          'RoleBinding',
          'Job',
        ]);
      });

      it('helm lint --strict passes with every job', async () => {
        const file = path.join(dir, `lint-${n++}.yaml`);
        writeFileSync(file, stringify({ jobs: allJobs(), gpuSemaphore: { create: true, workers: 4 } }));
        const { stdout } = await run(helm, ['lint', '--strict', path.join(REPO, 'helm/batchscore'), '-f', file]);
        expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      });

      it('values.schema.json refuses a job the parser refuses, naming the field', async () => {
        const doc = parse(loadVariantJob('gpu').text) as Obj;
        doc.spec.cluster.parallelism = 'many';
        await expect(template(helm, { jobs: [doc] })).rejects.toThrow(/jobs\/0\/spec\/cluster\/parallelism/);
      });

      it('installs on the Kubernetes versions CI runs, and refuses an older one', async () => {
        for (const v of ['1.35.0', '1.36.5', '1.37.2'])
          expect((await template(helm, {}, ['--kube-version', v])).length).toBeGreaterThan(0);
        await expect(template(helm, {}, ['--kube-version', '1.34.9'])).rejects.toThrow(
          /chart requires kubeVersion: >=1\.35\.0-0 <1\.38\.0-0 which is incompatible with Kubernetes v1\.34\.9/,
        );
        await expect(template(helm, {}, ['--kube-version', '1.38.0'])).rejects.toThrow(/incompatible/);
      });
    });
  }
});
