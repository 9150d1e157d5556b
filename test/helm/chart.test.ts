// Static checks of the Helm chart in helm/batchscore and of manifests/. No helm binary (and no cluster) where
// these tests run: the chart is never rendered or installed here. This checks Chart.yaml, validates values
// against values.schema.json with ajv (what `helm install` does with the schema), and reads the templates as
// text for the mistakes that matter most: unbalanced delimiters, Argo expressions in templates (they belong in
// values, which Helm never renders), and the Argo objects going out through anything but toYaml.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHART = `${REPO}helm/batchscore/`;
const read = (p: string) => readFileSync(p, 'utf8');
const templates = readdirSync(`${CHART}templates`).sort();

const schema = JSON.parse(read(`${CHART}values.schema.json`));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const defaults = parse(read(`${CHART}values.yaml`));
const withValues = (extra: Record<string, unknown>) => ({ ...structuredClone(defaults), ...extra });
const errorsOf = (v: unknown) => (validate(v) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

const workflowTemplate = () => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'WorkflowTemplate',
  metadata: { name: 'batchscore-credit-risk', namespace: 'batchscore', labels: { 'batchscore.dev/job': 'credit-risk' } },
  spec: {
    entrypoint: 'main',
    synchronization: { mutexes: [{ name: 'batchscore-credit-risk-{{workflow.parameters.date}}' }] },
    templates: [{ name: 'main', container: { image: 'x', command: ['batchscore'], args: ['plan', '--date', '{{workflow.parameters.date}}'] } }],
  },
});
const cronWorkflow = () => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'CronWorkflow',
  metadata: { name: 'batchscore-credit-risk' },
  spec: {
    schedules: ['0 2 * * *'],
    timezone: 'Europe/Berlin',
    workflowSpec: {
      workflowTemplateRef: { name: 'batchscore-credit-risk' },
      arguments: { parameters: [{ name: 'date', value: "{{=sprig.date('2006-01-02', workflow.scheduledTime)}}" }] },
    },
  },
});

/** The template actions ({{ ... }}) of a template file, Helm comments removed. */
function actions(text: string): string[] {
  return [...text.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)].map((m) => m[1]).filter((a) => !/^\/\*[\s\S]*\*\/$/.test(a));
}
const withoutComments = (text: string) => text.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');

describe('helm/batchscore', () => {
  it('Chart.yaml is a v2 application chart named batchscore, 0.1.0', () => {
    const chart = parse(read(`${CHART}Chart.yaml`));
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'batchscore', version: '0.1.0', appVersion: '0.1.0' });
    expect(typeof chart.description).toBe('string');
    expect(chart.type ?? 'application').toBe('application');
  });

  it('values.schema.json is draft-07 and values.yaml meets it, with the documented defaults', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(errorsOf(defaults)).toEqual([]);
    expect(defaults).toMatchObject({
      workflowTemplates: [],
      cronWorkflows: [],
      serviceAccount: { create: true, name: 'batchscore' },
      rbac: { create: true },
      gpuSemaphore: { create: false },
    });
  });

  it('the schema accepts rendered Argo objects, Argo expressions included', () => {
    expect(errorsOf(withValues({ workflowTemplates: [workflowTemplate()], cronWorkflows: [cronWorkflow()] }))).toEqual([]);
  });

  it('the committed rendered examples in argo/ are valid values', () => {
    const argo = `${REPO}argo/`;
    let files: string[] = [];
    try {
      files = readdirSync(argo).filter((f) => f.endsWith('.yaml'));
    } catch {
      return; // no rendered examples committed
    }
    const objs = files.flatMap((f) => parseAllDocuments(read(argo + f)).map((d) => d.toJS()));
    const values = withValues({
      workflowTemplates: objs.filter((o) => o?.kind === 'WorkflowTemplate'),
      cronWorkflows: objs.filter((o) => o?.kind === 'CronWorkflow'),
    });
    expect(errorsOf(values)).toEqual([]);
  });

  it('the schema rejects a WorkflowTemplate without spec', () => {
    const wt: Record<string, unknown> = workflowTemplate();
    delete wt.spec;
    expect(errorsOf(withValues({ workflowTemplates: [wt] })).join('\n')).toMatch(/workflowTemplates\/0 must have required property 'spec'/);
  });

  it('the schema rejects a CronWorkflow with an empty schedules list, or none', () => {
    const empty = cronWorkflow();
    empty.spec.schedules = [];
    expect(errorsOf(withValues({ cronWorkflows: [empty] })).join('\n')).toMatch(/cronWorkflows\/0\/spec\/schedules must NOT have fewer than 1 items/);
    const none: { spec: Record<string, unknown> } = cronWorkflow();
    delete none.spec.schedules;
    expect(errorsOf(withValues({ cronWorkflows: [none] }))).not.toEqual([]);
    const noWorkflowSpec: { spec: Record<string, unknown> } = cronWorkflow();
    delete noWorkflowSpec.spec.workflowSpec;
    expect(errorsOf(withValues({ cronWorkflows: [noWorkflowSpec] }))).not.toEqual([]);
  });

  it('the schema rejects wrong kinds and apiVersions, missing names, typos and bad settings', () => {
    const asCron = { ...workflowTemplate(), kind: 'CronWorkflow' };
    expect(errorsOf(withValues({ workflowTemplates: [asCron] }))).not.toEqual([]);
    expect(errorsOf(withValues({ workflowTemplates: [{ ...workflowTemplate(), apiVersion: 'argoproj.io/v1' }] }))).not.toEqual([]);
    expect(errorsOf(withValues({ cronWorkflows: [{ ...cronWorkflow(), metadata: {} }] }))).not.toEqual([]);
    expect(errorsOf({ ...structuredClone(defaults), workflowTemplate: [] })).not.toEqual([]); // typo of workflowTemplates
    expect(errorsOf(withValues({ gpuSemaphore: { create: true, name: 'batchscore-gpu', workers: 0 } }))).not.toEqual([]);
    expect(errorsOf(withValues({ gpuSemaphore: { create: true, name: 'batchscore-gpu', workers: 1.5 } }))).not.toEqual([]);
    expect(errorsOf(withValues({ serviceAccount: { create: true, name: 'Not_A_Name' } }))).not.toEqual([]);
    expect(errorsOf(withValues({ rbac: { create: 'yes' } }))).not.toEqual([]);
  });

  it('has the templates the chart promises', () => {
    expect(templates).toEqual(
      expect.arrayContaining(['_helpers.tpl', 'rbac.yaml', 'workflowtemplates.yaml', 'cronworkflows.yaml', 'gpu-semaphore.yaml', 'NOTES.txt']),
    );
  });

  it.each(templates)('templates/%s has balanced {{ }} and no Argo expressions', (name) => {
    const text = read(`${CHART}templates/${name}`);
    expect(text.split('{{').length, 'count of {{ vs }}').toBe(text.split('}}').length);
    // Every {{ closes before the next one opens.
    let depth = 0;
    for (const m of text.matchAll(/\{\{|\}\}/g)) {
      depth += m[0] === '{{' ? 1 : -1;
      expect(depth === 0 || depth === 1, `nesting at offset ${m.index}`).toBe(true);
    }
    expect(depth).toBe(0);
    // Argo's own expressions belong in values only: in a template Helm would evaluate them (and fail).
    expect(text).not.toMatch(/\{\{-?\s*=/);
    expect(text).not.toMatch(/\{\{-?\s*(workflow|inputs|outputs|tasks|steps|item|pod)\./);
    expect(text).not.toMatch(/\{\{-?\s*item\s*-?\}\}/);
  });

  it.each(['workflowtemplates.yaml', 'cronworkflows.yaml'])('templates/%s prints the objects with toYaml and never uses tpl', (name) => {
    const text = read(`${CHART}templates/${name}`);
    const code = actions(text).join('\n');
    expect(code).toMatch(/\binclude "batchscore\.argoObject"/);
    expect(withoutComments(text)).not.toMatch(/\btpl\b/);
    // Outside template actions only the YAML document separator: nothing is printed field by field.
    const literal = withoutComments(text).replace(/\{\{[\s\S]*?\}\}/g, '').trim();
    expect(literal).toBe('---');
  });

  it('the helper that emits the Argo objects uses toYaml, copies them, and never tpl', () => {
    const helpers = withoutComments(read(`${CHART}templates/_helpers.tpl`));
    const def = /\{\{-?\s*define "batchscore\.argoObject"\s*-?\}\}([\s\S]*?)\{\{-?\s*end\s*-?\}\}\s*$/.exec(helpers);
    expect(def, 'define "batchscore.argoObject"').not.toBeNull();
    expect(def![1]).toMatch(/\btoYaml \$out\b/);
    expect(def![1]).toMatch(/set \$meta "namespace" \$root\.Release\.Namespace/);
    expect(def![1]).toMatch(/merge \(dict\)/); // labels merged into a new dict, not into the values
    for (const t of templates) expect(withoutComments(read(`${CHART}templates/${t}`)), t).not.toMatch(/\btpl\b/);
  });

  it('RBAC templates are namespace-scoped, gated by values, and grant only workflowtaskresults create/patch', () => {
    const rbac = read(`${CHART}templates/rbac.yaml`);
    expect(rbac).toMatch(/\{\{-? if \.Values\.serviceAccount\.create \}\}[\s\S]*kind: ServiceAccount/);
    expect(rbac).toMatch(/\{\{-? if \.Values\.rbac\.create \}\}[\s\S]*kind: Role\n[\s\S]*kind: RoleBinding/);
    expect(rbac).not.toMatch(/kind: Cluster/);
    const rules = withoutComments(rbac).match(/^\s+- apiGroups:.*$|^\s+resources:.*$|^\s+verbs:.*$/gm)!.map((l) => l.trim());
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
    for (const f of ['rbac.yaml', 'submitter-rbac.yaml', 's3-secret.example.yaml', 'webhook-secret.example.yaml', 'gpu-semaphore.yaml']) {
      for (const o of docs(f)) {
        expect(o.kind, f).not.toMatch(/^Cluster/);
        expect(Object.keys(o.metadata), `${f} ${o.kind}`).not.toContain('namespace');
        for (const subject of o.subjects ?? []) expect(Object.keys(subject), `${f} ${o.kind} subject`).not.toContain('namespace');
      }
      expect(read(`${REPO}manifests/${f}`), f).not.toMatch(/^\s*namespace:/m);
    }
  });

  it('kustomization.yaml lists the objects a namespace needs, not the example Secrets, and names no namespace', () => {
    const [k] = docs('kustomization.yaml');
    expect(k).toEqual({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['rbac.yaml', 'submitter-rbac.yaml', 'gpu-semaphore.yaml'] });
    for (const f of k.resources) expect(docs(f).length, f).toBeGreaterThan(0);
  });

  it('rbac.yaml: ServiceAccount batchscore bound to a Role with only workflowtaskresults create/patch', () => {
    const [sa, role, binding] = docs('rbac.yaml');
    expect(sa).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'batchscore' } });
    expect(role).toMatchObject({ kind: 'Role', metadata: { name: 'batchscore-workflow' } });
    expect(role.rules).toEqual([{ apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] }]);
    expect(binding).toMatchObject({
      kind: 'RoleBinding',
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'batchscore-workflow' },
      subjects: [{ kind: 'ServiceAccount', name: 'batchscore' }],
    });
  });

  it('the chart grants exactly what manifests/rbac.yaml grants', () => {
    const [, role] = docs('rbac.yaml');
    const chartRbac = withoutComments(read(`${CHART}templates/rbac.yaml`)).replace(/\{\{[\s\S]*?\}\}/g, 'X');
    const chartRole = parseAllDocuments(chartRbac).map((d) => d.toJS()).find((o) => o?.kind === 'Role');
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
