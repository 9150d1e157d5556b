// Static checks of the Helm chart in helm/batchscore and of manifests/, without a helm binary. The chart is
// rendered with the real helm, installed and upgraded on the real engine in test/cluster/gitops.test.ts (which
// also asserts that helm template and batchscore render give the same objects). Here: Chart.yaml, values.yaml
// against values.schema.json with ajv (what helm does with the schema), the job documents users give, and the
// templates read as text for the mistakes that matter most: Argo expressions outside Go string literals (Helm
// would evaluate them), tpl, and objects printed field by field instead of built and printed with toYaml.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { JsonDoc } from '../support/jsonDoc.js';
import { toDefaultResources } from '@batchscore/coordinator';
import { clusterStacks } from '../support/stacks.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHART = `${REPO}helm/batchscore/`;
const read = (p: string) => readFileSync(p, 'utf8');
const templates = readdirSync(`${CHART}templates`).sort();

const schema = JSON.parse(read(`${CHART}values.schema.json`));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const defaults = parse(read(`${CHART}values.yaml`));
const withValues = (extra: Record<string, unknown>) => ({ ...structuredClone(defaults), ...extra });
const errorsOf = (v: unknown) => (validate(v) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

const example = (f: string) => parse(read(`${REPO}examples/${f}`));

/**
 * Go's text/template lexer, as far as these checks need it: the text outside actions, and each action's code
 * with its string literals ("…" and `…`) emptied, Helm comments ({{/- … -/}}, with stars) dropped. Throws on an action
 * that never closes, or a '}}' outside one.
 */
function scan(text: string): { literal: string; actions: string[]; code: string[] } {
  const out = { literal: '', actions: [] as string[], code: [] as string[] };
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    const stray = text.indexOf('}}', i);
    if (stray !== -1 && (open === -1 || stray < open)) throw new Error(`'}}' outside an action at offset ${stray}`);
    if (open === -1) {
      out.literal += text.slice(i);
      break;
    }
    out.literal += text.slice(i, open);
    // A comment runs to its */ whatever it holds ({{ and }} included), as in Go's lexer.
    const comment = /^\{\{(- )?\/\*/.exec(text.slice(open, open + 6));
    if (comment) {
      const end = text.indexOf('*/', open);
      const close = end === -1 ? -1 : text.indexOf('}}', end);
      if (close === -1) throw new Error(`the comment at offset ${open} never closes`);
      i = close + 2;
      continue;
    }
    let j = open + 2;
    let raw = '';
    let code = '';
    for (;;) {
      if (j >= text.length) throw new Error(`the action at offset ${open} never closes`);
      if (text.startsWith('}}', j)) break;
      const c = text[j]!;
      if (c === '"' || c === '`') {
        let k = j + 1;
        while (k < text.length && text[k] !== c) k += c === '"' && text[k] === '\\' ? 2 : 1;
        raw += text.slice(j, k + 1);
        code += `${c}${c}`;
        j = k + 1;
      } else {
        raw += c;
        code += c;
        j++;
      }
    }
    const trim = (x: string) => x.replace(/^-?\s*/, '').replace(/\s*-?$/, '');
    if (!/^-?\s*\/\*[\s\S]*\*\/\s*-?$/.test(raw)) {
      out.actions.push(trim(raw));
      out.code.push(trim(code));
    }
    i = j + 2;
  }
  return out;
}
const actions = (text: string) => scan(text).actions;
const withoutComments = (text: string) => text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');

describe('helm/batchscore', () => {
  it(
    'Chart.yaml is a v2 application chart named batchscore, 0.1.0, whose kubeVersion and Argo range ' +
      'are what CI runs',
    () => {
      const chart = parse(read(`${CHART}Chart.yaml`));
      expect(chart).toMatchObject({ apiVersion: 'v2', name: 'batchscore', version: '0.1.0', appVersion: '0.1.0' });
      expect(typeof chart.description).toBe('string');
      expect(chart.type ?? 'application').toBe('application');
      // The stacks the cluster suite builds and runs (scripts/cluster/build.sh), each in CI (.ci/run): from the
      // oldest Kubernetes minor to the newest, and each Argo line from the release it ran.
      const stacks = clusterStacks();
      expect(stacks.map((s) => s.stack)).toEqual(['current', 'lts']);
      const minor = (v: string) => Number(v.split('.')[1]);
      const k8s = stacks.map((s) => minor(s.versions.kubernetes!)).sort((a, b) => a - b);
      expect(chart.kubeVersion).toBe(`>=1.${k8s[0]}.0-0 <1.${k8s.at(-1)! + 1}.0-0`);
      const argo = stacks
        .map((s) => s.versions['argo-workflows']!.slice(1))
        .sort()
        .map((v) => `>=${v} <${v.split('.')[0]}.${minor(v) + 1}.0`);
      expect(chart.annotations['batchscore.dev/argo-workflows']).toBe(argo.join(' || '));
      expect(chart.annotations['batchscore.dev/argo-workflows']).toBe('>=3.7.18 <3.8.0 || >=4.1.2 <4.2.0');
      const ci = read(`${REPO}.ci/run`);
      for (const s of stacks) expect(ci).toContain(`--stack ${s.stack}`);
    },
  );

  it('values.schema.json is draft-07 and values.yaml meets it, with the documented defaults', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(errorsOf(defaults)).toEqual([]);
    expect(defaults).toEqual({
      image: { repository: 'ghcr.io/batchscore/batchscore-worker', tag: '', pullPolicy: '' },
      resources: toDefaultResources(),
      fullnameOverride: '',
      jobs: [],
      serviceAccount: { create: true, name: '', annotations: {} },
      rbac: { create: true },
      backfill: { create: true },
      gpuSemaphore: { create: false, name: '', workers: 8 },
      cronHook: { enabled: true, nodeSelector: {}, tolerations: [] },
    });
  });

  it('takes job files as they are: the examples, pasted under jobs:, are valid values', () => {
    expect(errorsOf(withValues({ jobs: [example('credit-risk.yaml'), example('churn-sklearn.yaml')] }))).toEqual([]);
  });

  it(
    'the schema refuses what the parser refuses, by the field: a typo, a bad type, a ' +
      'missing section, an unknown value',
    () => {
      const job = () => structuredClone(example('credit-risk.yaml'));
      const bad = (edit: (j: JsonDoc) => void) => {
        const j = job();
        edit(j);
        return errorsOf(withValues({ jobs: [j] }));
      };
      expect(bad((j) => (j.spec.cluster.paralelism = 2))).toContainEqual(
        '/jobs/0/spec/cluster must NOT have additional properties',
      );
      expect(bad((j) => (j.spec.cluster.parallelism = 'many'))).toContainEqual(
        '/jobs/0/spec/cluster/parallelism must be integer',
      );
      expect(bad((j) => delete j.spec.model)).toContainEqual("/jobs/0/spec must have required property 'model'");
      expect(bad((j) => (j.kind = 'Job'))).not.toEqual([]);
      expect(errorsOf({ ...structuredClone(defaults), job: [] })).not.toEqual([]); // typo of jobs
      expect(errorsOf(withValues({ gpuSemaphore: { create: true, name: 'batchscore-gpu', workers: 0 } }))).not.toEqual(
        [],
      );
      expect(errorsOf(withValues({ serviceAccount: { create: true, name: 'Not_A_Name' } }))).not.toEqual([]);
      expect(errorsOf(withValues({ image: { repository: 'x', pullPolicy: 'Sometimes' } }))).not.toEqual([]);
    },
  );

  it('has the templates the chart promises', () => {
    expect(templates).toEqual([
      'NOTES.txt',
      '_defaults.tpl',
      '_helpers.tpl',
      '_job.tpl',
      'backfill.yaml',
      'cron-hook.yaml',
      'gpu-semaphore.yaml',
      'jobs.yaml',
      'rbac.yaml',
    ]);
  });

  it.each(templates)(
    'templates/%s: balanced {{ }}, Argo expressions only inside Go string literals, no tpl',
    (name) => {
      const { code } = scan(read(`${CHART}templates/${name}`));
      // Argo's own expressions would be evaluated by Helm (and fail) anywhere but in a string literal.
      for (const a of code) {
        expect(a, name).not.toMatch(/^=/);
        expect(a, name).not.toMatch(/^(workflow|inputs|outputs|tasks|steps|item|pod)\b/);
        expect(a, name).not.toMatch(/\btpl\b/);
      }
    },
  );

  it.each(['jobs.yaml', 'backfill.yaml'])(
    'templates/%s prints objects built elsewhere with include (toYaml), nothing field by field',
    (name) => {
      const text = read(`${CHART}templates/${name}`);
      expect(scan(text).literal.replace(/---/g, '').trim()).toBe('');
      expect(
        actions(text).some((a) =>
          /^include "batchscore\.(workflowTemplate|jobConfigMap|cronWorkflow|argoObject)"/.test(a),
        ),
      ).toBe(true);
    },
  );

  it(
    'the job objects are dicts printed with toYaml, each once: no hook copy of the CronWorkflow ' +
      '(argo-workflows#12332 is cron-hook.yaml’s)',
    () => {
      const job = read(`${CHART}templates/_job.tpl`);
      // Nothing is printed but what the defines return: no literal text outside actions.
      expect(scan(job).literal.trim()).toBe('');
      const all = actions(job);
      for (const def of ['batchscore.jobConfigMap', 'batchscore.workflowTemplate', 'batchscore.cronWorkflow']) {
        const from = all.indexOf(`define "${def}"`);
        expect(from, def).toBeGreaterThan(-1);
        const next = all.findIndex((a, k) => k > from && a.startsWith('define '));
        const body = all.slice(from + 1, next === -1 ? undefined : next);
        expect(
          body.some((a) => /^toYaml (\(dict "apiVersion"|\$cm)/.test(a)),
          def,
        ).toBe(true);
      }
      expect(job).not.toMatch(/helm\.sh\/hook/);
      expect(job).toMatch(/"argocd\.argoproj\.io\/sync-wave" "1"/);
      const hook = read(`${CHART}templates/cron-hook.yaml`);
      expect(hook).toMatch(/helm\.sh\/hook: post-install,post-upgrade\n/);
      expect(hook).toMatch(/argocd\.argoproj\.io\/hook: Skip\n/);
      expect(withoutComments(hook)).not.toMatch(/kind: CronWorkflow/);
    },
  );

  it("the backfill template is the renderer's output, read as data", () => {
    const text = read(`${CHART}templates/backfill.yaml`);
    expect(actions(text)).toContain('range $obj := (.Files.Get "files/backfill.json" | fromJson).items');
    const list = JSON.parse(read(`${CHART}files/backfill.json`)) as {
      items: { kind: string; metadata: { name: string } }[];
    };
    expect(list.items.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/batchscore-backfill',
      'Role/batchscore-backfill',
      'RoleBinding/batchscore-backfill',
      'WorkflowTemplate/batchscore-backfill',
    ]);
  });

  it('the helper that emits the backfill objects uses toYaml, copies them, and never tpl', () => {
    const helpers = withoutComments(read(`${CHART}templates/_helpers.tpl`));
    const def = /\{\{-?\s*define "batchscore\.argoObject"\s*-?\}\}([\s\S]*?)\{\{-?\s*end\s*-?\}\}\s*$/.exec(helpers);
    expect(def, 'define "batchscore.argoObject"').not.toBeNull();
    expect(def![1]).toMatch(/\btoYaml \$out\b/);
    expect(def![1]).toMatch(/set \$meta "namespace" \$root\.Release\.Namespace/);
    expect(def![1]).toMatch(/\$obj := deepCopy \.obj/); // a copy: the values are not modified
  });

  it('RBAC templates are namespace-scoped, gated by values, and grant only workflowtaskresults create/patch', () => {
    const rbac = read(`${CHART}templates/rbac.yaml`);
    expect(rbac).toMatch(/\{\{-? if \.Values\.serviceAccount\.create \}\}[\s\S]*kind: ServiceAccount/);
    expect(rbac).toMatch(/\{\{-? if \.Values\.rbac\.create \}\}[\s\S]*kind: Role\n[\s\S]*kind: RoleBinding/);
    expect(rbac).not.toMatch(/kind: Cluster/);
    const rules = withoutComments(rbac)
      .match(/^\s+- apiGroups:.*$|^\s+resources:.*$|^\s+verbs:.*$/gm)!
      .map((l) => l.trim());
    expect(rules).toEqual(['- apiGroups: [argoproj.io]', 'resources: [workflowtaskresults]', 'verbs: [create, patch]']);
    const gpu = read(`${CHART}templates/gpu-semaphore.yaml`);
    expect(gpu).toMatch(/\{\{-? if \.Values\.gpuSemaphore\.create \}\}[\s\S]*kind: ConfigMap[\s\S]*workers:/);
  });
});

describe('manifests/', () => {
  const docs = (f: string) => parseAllDocuments(read(`${REPO}manifests/${f}`)).map((d) => d.toJS());

  // `kubectl -n team apply -f` refuses an object that names another namespace; with none it takes -n's (or the
  // context's), and kustomize's `namespace:` sets it. A RoleBinding's ServiceAccount subject without a namespace
  // is valid and means the binding's own (only a ClusterRoleBinding's must name one).
  it('every file is YAML of namespaced objects naming no namespace, subjects included, nothing cluster-wide', () => {
    for (const f of [
      'rbac.yaml',
      'submitter-rbac.yaml',
      's3-secret.example.yaml',
      'webhook-secret.example.yaml',
      'gpu-semaphore.yaml',
    ]) {
      for (const o of docs(f)) {
        expect(o.kind, f).not.toMatch(/^Cluster/);
        expect(Object.keys(o.metadata), `${f} ${o.kind}`).not.toContain('namespace');
        for (const subject of o.subjects ?? [])
          expect(Object.keys(subject), `${f} ${o.kind} subject`).not.toContain('namespace');
      }
      expect(read(`${REPO}manifests/${f}`), f).not.toMatch(/^\s*namespace:/m);
    }
  });

  it('kustomization.yaml lists the objects a namespace needs, not the example Secrets, and names no namespace', () => {
    const [k] = docs('kustomization.yaml');
    expect(k).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['rbac.yaml', 'submitter-rbac.yaml', 'gpu-semaphore.yaml'],
    });
    for (const f of k.resources) expect(docs(f).length, f).toBeGreaterThan(0);
  });

  it('rbac.yaml: ServiceAccount batchscore bound to a Role with only workflowtaskresults create/patch', () => {
    const [sa, role, binding] = docs('rbac.yaml');
    expect(sa).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'batchscore' } });
    expect(role).toMatchObject({ kind: 'Role', metadata: { name: 'batchscore-workflow' } });
    expect(role.rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
    ]);
    expect(binding).toMatchObject({
      kind: 'RoleBinding',
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'batchscore-workflow' },
      subjects: [{ kind: 'ServiceAccount', name: 'batchscore' }],
    });
  });

  it('the chart grants exactly what manifests/rbac.yaml grants', () => {
    const [, role] = docs('rbac.yaml');
    const chartRbac = withoutComments(read(`${CHART}templates/rbac.yaml`)).replace(/\{\{[\s\S]*?\}\}/g, 'X');
    const chartRole = parseAllDocuments(chartRbac)
      .map((d) => d.toJS())
      .find((o) => o?.kind === 'Role');
    expect(chartRole.rules).toEqual(role.rules);
  });

  it('submitter-rbac.yaml: workflows create/get/list/watch, templates and crons get/list, nothing else', () => {
    const objs = docs('submitter-rbac.yaml');
    const role = objs.find((o) => o.kind === 'Role');
    expect(role.metadata.name).toBe('batchscore-submitter');
    expect(role.rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['create', 'get', 'list', 'watch'] },
      { apiGroups: ['argoproj.io'], resources: ['workflowtemplates'], verbs: ['get', 'list'] },
      { apiGroups: ['argoproj.io'], resources: ['cronworkflows'], verbs: ['get', 'list'] },
    ]);
    expect(objs.find((o) => o.kind === 'RoleBinding')).toMatchObject({
      roleRef: { kind: 'Role', name: 'batchscore-submitter' },
      subjects: [{ kind: 'ServiceAccount', name: 'batchscore-submitter' }],
    });
  });

  it('s3-secret.example.yaml holds placeholders only', () => {
    const [secret] = docs('s3-secret.example.yaml');
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'batchscore-s3' } });
    expect(secret.stringData).toEqual({ AWS_ACCESS_KEY_ID: 'REPLACE_ME', AWS_SECRET_ACCESS_KEY: 'REPLACE_ME' });
    expect(secret.data).toBeUndefined();
  });

  it('gpu-semaphore.yaml: ConfigMap batchscore-gpu with workers "8" (a string, as ConfigMap data must be)', () => {
    const [cm] = docs('gpu-semaphore.yaml');
    expect(cm).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'batchscore-gpu' }, data: { workers: '8' } });
  });
});
