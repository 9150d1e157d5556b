import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  ARGO_CONFORMANCE_FOLDER,
  ARGO_CONFORMANCE_SKIP_MESSAGE,
  V4_1_2_SCHEDULE_PATTERN,
  argoConformanceDir,
  conformanceAvailable,
  expectValidArgo,
  validateArgo,
} from '../support/argoSchema.js';

// Proves the Argo validator itself: valid documents pass every check, and each kind of rendering bug is caught by
// exactly the checks listed (so a test relying on one check knows what it does and does not cover).

const dir = argoConformanceDir();
if (!dir) console.warn(ARGO_CONFORMANCE_SKIP_MESSAGE);
const NEEDS = `(needs ${ARGO_CONFORMANCE_FOLDER}; skipped when absent)`;

const API = 'argoproj.io/v1alpha1';
const leaf = { name: 'main', container: { image: 'busybox:1.36', command: ['echo', 'hi'] } };
const workflow = (spec: Record<string, unknown>) => ({
  apiVersion: API,
  kind: 'Workflow',
  metadata: { generateName: 'score-' },
  spec: { entrypoint: 'main', templates: [leaf], ...spec },
});
const validWorkflow = workflow({});
const validWorkflowTemplate = {
  apiVersion: API,
  kind: 'WorkflowTemplate',
  metadata: { name: 'score' },
  spec: { entrypoint: 'main', templates: [leaf] },
};
const cron = (spec: Record<string, unknown>) => ({
  apiVersion: API,
  kind: 'CronWorkflow',
  metadata: { name: 'nightly' },
  spec: {
    schedules: ['0 2 * * *'],
    timezone: 'Europe/Berlin',
    concurrencyPolicy: 'Forbid',
    workflowSpec: { workflowTemplateRef: { name: 'score' } },
    ...spec,
  },
});
const validCronWorkflow = cron({});
/** Argo v4 removed the singular `schedule` in favour of `schedules`. */
function cronWithSingularSchedule() {
  const { schedules: _removed, ...spec } = validCronWorkflow.spec;
  return { ...validCronWorkflow, spec: { ...spec, schedule: '0 2 * * *' } };
}
const dagWorkflow = (tasks: number) =>
  workflow({
    templates: [
      {
        name: 'main',
        dag: { tasks: Array.from({ length: tasks }, (_, i) => ({ name: `t${i}`, template: 'leaf' })) },
      },
      { ...leaf, name: 'leaf' },
    ],
  });
const withTemplate = (template: Record<string, unknown>) => workflow({ templates: [{ name: 'main', ...template }] });

/** `{ source: errors }` for every check that ran. */
function bySource(doc: unknown): Record<string, string[]> {
  return Object.fromEntries(validateArgo(doc).map((r) => [r.source, r.errors]));
}
const km = (doc: unknown) => bySource(doc)['kubernetes-models'];
const ALL_PASS = { 'kubernetes-models': [], 'schema.json': [], crd: [] };

describe('kubernetes-models check (always runs)', () => {
  it('accepts minimal Workflow, WorkflowTemplate and CronWorkflow', () => {
    expect(km(validWorkflow)).toEqual([]);
    expect(km(validWorkflowTemplate)).toEqual([]);
    expect(km(validCronWorkflow)).toEqual([]);
  });

  it('rejects a non-string image', () => {
    expect(km(withTemplate({ container: { image: 5 } }))).toEqual(['/spec/templates/0/container/image: must be string']);
  });

  it('rejects the removed singular CronWorkflow `schedule` (schedules is required)', () => {
    expect(km(cronWithSingularSchedule())).toEqual([
      '/spec: must have required property schedules',
    ]);
  });

  it('rejects 201 DAG tasks (the generated models carry maxItems 200 too) and accepts 200', () => {
    expect(km(dagWorkflow(201))).toEqual(['/spec/templates/0/dag/tasks: must NOT have more than 200 items']);
    expect(km(dagWorkflow(200))).toEqual([]);
  });

  it('does NOT catch unknown fields such as the removed synchronization.mutex', () => {
    expect(km(workflow({ synchronization: { mutex: { name: 'lock' } } }))).toEqual([]);
    expect(km(workflow({ entrypiont: 'main' }))).toEqual([]);
  });

  it('accepts a template container without a name (Argo defaults it to main) but not an unnamed initContainer', () => {
    expect(km(withTemplate({ container: { image: 'busybox' } }))).toEqual([]);
    expect(km(withTemplate({ script: { image: 'python:3', source: 'print(1)' } }))).toEqual([]);
    expect(km(withTemplate({ initContainers: [{ image: 'busybox' }], container: { image: 'busybox' } }))).toEqual([
      '/spec/templates/0/initContainers/0: must have required property name',
    ]);
  });

  it('checks concurrencyPolicy against its enum and schedules against the cron pattern', () => {
    expect(km(cron({ concurrencyPolicy: 'Sometimes' }))).toEqual([
      '/spec/concurrencyPolicy: must be equal to one of the allowed values (allowed: ["Allow","Forbid","Replace"])',
    ]);
    expect(km(cron({ schedules: ['0 2 * * MON-FRI'] }))).toEqual([]);
    expect(km(cron({ schedules: ['every day'] }))).toEqual([
      expect.stringMatching(/^\/spec\/schedules\/0: must match pattern /),
    ]);
  });

  it('accepts retryStrategy.limit as integer or string', () => {
    expect(km(withTemplate({ retryStrategy: { limit: 3 }, container: { image: 'b' } }))).toEqual([]);
    expect(km(withTemplate({ retryStrategy: { limit: '3' }, container: { image: 'b' } }))).toEqual([]);
  });

  it('reports an unsupported kind as an input error', () => {
    expect(validateArgo({ apiVersion: 'v1', kind: 'Pod' })).toEqual([
      { source: 'input', errors: ['/kind: "Pod" is not one of Workflow, WorkflowTemplate, CronWorkflow'] },
    ]);
  });

  it('runs only kubernetes-models when the conformance folder is missing', () => {
    const saved = process.env.ARGO_CONFORMANCE_DIR;
    process.env.ARGO_CONFORMANCE_DIR = '/nonexistent/argo-v4.1.2';
    try {
      expect(conformanceAvailable()).toBe(false);
      expect(argoConformanceDir()).toBeUndefined();
      expect(validateArgo(validWorkflow)).toEqual([{ source: 'kubernetes-models', errors: [] }]);
      expect(() => expectValidArgo(withTemplate({ container: { image: 5 } }))).toThrow(
        /\[kubernetes-models\] \/spec\/templates\/0\/container\/image: must be string/,
      );
      expect(() => expectValidArgo(withTemplate({ container: { image: 5 } }))).toThrow(/schema.json\/crd skipped/);
    } finally {
      if (saved === undefined) delete process.env.ARGO_CONFORMANCE_DIR;
      else process.env.ARGO_CONFORMANCE_DIR = saved;
    }
  });
});

describe(`schema.json and CRD checks ${NEEDS}`, () => {
  it.skipIf(!dir)(`minimal Workflow, WorkflowTemplate and CronWorkflow pass all three checks ${NEEDS}`, () => {
    expect(bySource(validWorkflow)).toEqual(ALL_PASS);
    expect(bySource(validWorkflowTemplate)).toEqual(ALL_PASS);
    expect(bySource(validCronWorkflow)).toEqual(ALL_PASS);
    expect(() => expectValidArgo(validWorkflow)).not.toThrow();
  });

  it.skipIf(!dir)(`int-or-string fields accept integers and strings in all three checks ${NEEDS}`, () => {
    for (const limit of [3, '3']) {
      expect(bySource(withTemplate({ retryStrategy: { limit }, container: { image: 'b' } }))).toEqual(ALL_PASS);
    }
    // Quantity: integer or string (schema.json's `{type: string}` is widened like the CRD's anyOf).
    const resources = { limits: { cpu: 1, memory: '1Gi' }, requests: { cpu: '500m' } };
    expect(bySource(withTemplate({ container: { image: 'b', resources } }))).toEqual(ALL_PASS);
    expect(bySource(withTemplate({ retryStrategy: { limit: true }, container: { image: 'b' } }))).toEqual({
      'kubernetes-models': [
        '/spec/templates/0/retryStrategy/limit: must be string',
        '/spec/templates/0/retryStrategy/limit: must be integer',
        '/spec/templates/0/retryStrategy/limit: must match exactly one schema in "oneOf"',
      ],
      'schema.json': [
        '/spec/templates/0/retryStrategy/limit: must be integer',
        '/spec/templates/0/retryStrategy/limit: must be string',
        '/spec/templates/0/retryStrategy/limit: must match a schema in anyOf',
      ],
      crd: [
        '/spec/templates/0/retryStrategy/limit: must be integer',
        '/spec/templates/0/retryStrategy/limit: must be string',
        '/spec/templates/0/retryStrategy/limit: must match a schema in anyOf',
      ],
    });
  });

  it.skipIf(!dir)(`container.image: 5 is caught by all three checks ${NEEDS}`, () => {
    const error = '/spec/templates/0/container/image: must be string';
    expect(bySource(withTemplate({ container: { image: 5 } }))).toEqual({
      'kubernetes-models': [error],
      'schema.json': [error],
      crd: [error],
    });
  });

  it.skipIf(!dir)(`removed CronWorkflow \`schedule\`: all require schedules, only the CRD flags the field ${NEEDS}`, () => {
    expect(bySource(cronWithSingularSchedule())).toEqual({
      'kubernetes-models': ['/spec: must have required property schedules'],
      'schema.json': ["/spec: must have required property 'schedules'"],
      crd: [
        "/spec: must have required property 'schedules'",
        '/spec: must NOT have additional properties (unknown field "schedule")',
      ],
    });
  });

  it.skipIf(!dir)(`201 DAG tasks: the CRD (and kubernetes-models) catch maxItems 200, schema.json does not ${NEEDS}`, () => {
    const error = '/spec/templates/0/dag/tasks: must NOT have more than 200 items';
    expect(bySource(dagWorkflow(201))).toEqual({ 'kubernetes-models': [error], 'schema.json': [], crd: [error] });
    expect(bySource(dagWorkflow(200))).toEqual(ALL_PASS);
  });

  it.skipIf(!dir)(`removed synchronization.mutex and other unknown fields: only the CRD check catches them ${NEEDS}`, () => {
    expect(bySource(workflow({ synchronization: { mutex: { name: 'lock' } } }))).toEqual({
      'kubernetes-models': [],
      'schema.json': [],
      crd: ['/spec/synchronization: must NOT have additional properties (unknown field "mutex")'],
    });
    expect(bySource(workflow({ synchronization: { mutexes: [{ name: 'lock' }] } }))).toEqual(ALL_PASS);
    expect(bySource(workflow({ entrypiont: 'main' }))).toEqual({
      'kubernetes-models': [],
      'schema.json': [],
      crd: ['/spec: must NOT have additional properties (unknown field "entrypiont")'],
    });
  });

  it.skipIf(!dir)(`concurrencyPolicy enum: kubernetes-models and CRD, not schema.json ${NEEDS}`, () => {
    const error =
      '/spec/concurrencyPolicy: must be equal to one of the allowed values (allowed: ["Allow","Forbid","Replace"])';
    expect(bySource(cron({ concurrencyPolicy: 'Sometimes' }))).toEqual({
      'kubernetes-models': [error],
      'schema.json': [],
      crd: [error],
    });
  });

  it.skipIf(!dir)(`cron pattern: v4.1.2 (CRD) allows names; nonsense fails kubernetes-models and CRD ${NEEDS}`, () => {
    const crd = parseYaml(readFileSync(`${dir}argoproj.io_cronworkflows.yaml`, 'utf8')) as {
      spec: { versions: { schema: { openAPIV3Schema: any } }[] };
    };
    const items = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.schedules.items;
    expect(items.pattern).toBe(V4_1_2_SCHEDULE_PATTERN.source);
    expect(bySource(cron({ schedules: ['0 2 * * MON-FRI', '@daily'] }))).toEqual(ALL_PASS);
    const result = bySource(cron({ schedules: ['every day'] }));
    expect(result['schema.json']).toEqual([]);
    expect(result['kubernetes-models']).toEqual([expect.stringMatching(/^\/spec\/schedules\/0: must match pattern /)]);
    expect(result.crd).toEqual([expect.stringMatching(/^\/spec\/schedules\/0: must match pattern /)]);
  });

  it.skipIf(!dir)(`container without image: only schema.json requires image ${NEEDS}`, () => {
    expect(bySource(withTemplate({ container: { command: ['echo'] } }))).toEqual({
      'kubernetes-models': [],
      'schema.json': ["/spec/templates/0/container: must have required property 'image'"],
      crd: [],
    });
  });

  it.skipIf(!dir)(`null for an object field: schema.json and CRD reject, kubernetes-models allows ${NEEDS}`, () => {
    expect(bySource(workflow({ arguments: null }))).toEqual({
      'kubernetes-models': [],
      'schema.json': ['/spec/arguments: must be object'],
      crd: ['/spec/arguments: must be object'],
    });
  });

  it.skipIf(!dir)(`parameter values must be strings in all three checks ${NEEDS}`, () => {
    const error = '/spec/arguments/parameters/0/value: must be string';
    expect(bySource(workflow({ arguments: { parameters: [{ name: 'p', value: 5 }] } }))).toEqual({
      'kubernetes-models': [error],
      'schema.json': [error],
      crd: [error],
    });
  });

  it.skipIf(!dir)(`limitation: CRD CEL rules (x-kubernetes-validations) are not evaluated ${NEEDS}`, () => {
    // The CRD's CEL rule "template must have at most one template type" would reject this on a cluster.
    expect(bySource(withTemplate({ container: { image: 'b' }, script: { image: 'b', source: 'x' } }))).toEqual(ALL_PASS);
  });

  it.skipIf(!dir)(`expectValidArgo lists every error with its source and instance path ${NEEDS}`, () => {
    const doc = workflow({ synchronization: { mutex: { name: 'lock' } }, templates: [{ name: 'main', container: { image: 5 } }] });
    let message = '';
    try {
      expectValidArgo(doc);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n').slice(1)).toEqual([
      '  [kubernetes-models] /spec/templates/0/container/image: must be string',
      '  [schema.json] /spec/templates/0/container/image: must be string',
      '  [crd] /spec/synchronization: must NOT have additional properties (unknown field "mutex")',
      '  [crd] /spec/templates/0/container/image: must be string',
    ]);
    expect(message.split('\n')[0]).toMatch(/^invalid Argo Workflow score- \(4 error\(s\); checks run: kubernetes-models, schema.json, crd\)/);
  });
});
