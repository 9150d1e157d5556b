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
const ALL_PASS = { 'schema.json': [], crd: [] };

// These ran on the 'kubernetes-models' check alone until it was dropped (see test/support/argoSchema.ts); each
// now asserts what the remaining checks say about the same document, so every case is still checked.
describe(`without the conformance folder, and cases only the dropped kubernetes-models check covered ${NEEDS}`, () => {
  it('reports an unsupported kind as an input error', () => {
    expect(validateArgo({ apiVersion: 'v1', kind: 'Pod' })).toEqual([
      { source: 'input', errors: ['/kind: "Pod" is not one of Workflow, WorkflowTemplate, CronWorkflow'] },
    ]);
  });

  it(
    'runs no check when the conformance folder is missing, and expectValidArgo then refuses ' + 'to pass a document',
    () => {
      const saved = process.env.ARGO_CONFORMANCE_DIR;
      process.env.ARGO_CONFORMANCE_DIR = '/nonexistent/argo-v4.1.2';
      try {
        expect(conformanceAvailable()).toBe(false);
        expect(argoConformanceDir()).toBeUndefined();
        expect(validateArgo(validWorkflow)).toEqual([]);
        expect(() => expectValidArgo(validWorkflow)).toThrow(
          `no Argo schema check ran: ${ARGO_CONFORMANCE_SKIP_MESSAGE}`,
        );
      } finally {
        if (saved === undefined) delete process.env.ARGO_CONFORMANCE_DIR;
        else process.env.ARGO_CONFORMANCE_DIR = saved;
      }
    },
  );

  it.skipIf(!dir)(`a template container or script without a name passes (Argo defaults it to main) ${NEEDS}`, () => {
    expect(bySource(withTemplate({ container: { image: 'busybox' } }))).toEqual(ALL_PASS);
    expect(bySource(withTemplate({ script: { image: 'python:3', source: 'print(1)' } }))).toEqual(ALL_PASS);
  });

  it.skipIf(!dir)(`an unnamed initContainer fails ${NEEDS}`, () => {
    expect(bySource(withTemplate({ initContainers: [{ image: 'busybox' }], container: { image: 'busybox' } }))).toEqual(
      {
        'schema.json': ["/spec/templates/0/initContainers/0: must have required property 'name'"],
        crd: ["/spec/templates/0/initContainers/0: must have required property 'name'"],
      },
    );
  });
});

describe(`schema.json and CRD checks ${NEEDS}`, () => {
  it.skipIf(!dir)(`minimal Workflow, WorkflowTemplate and CronWorkflow pass both checks ${NEEDS}`, () => {
    expect(bySource(validWorkflow)).toEqual(ALL_PASS);
    expect(bySource(validWorkflowTemplate)).toEqual(ALL_PASS);
    expect(bySource(validCronWorkflow)).toEqual(ALL_PASS);
    expect(() => expectValidArgo(validWorkflow)).not.toThrow();
  });

  it.skipIf(!dir)(`int-or-string fields accept integers and strings in both checks ${NEEDS}`, () => {
    for (const limit of [3, '3']) {
      expect(bySource(withTemplate({ retryStrategy: { limit }, container: { image: 'b' } }))).toEqual(ALL_PASS);
    }
    // Quantity: integer or string (schema.json's `{type: string}` is widened like the CRD's anyOf).
    const resources = { limits: { cpu: 1, memory: '1Gi' }, requests: { cpu: '500m' } };
    expect(bySource(withTemplate({ container: { image: 'b', resources } }))).toEqual(ALL_PASS);
    expect(bySource(withTemplate({ retryStrategy: { limit: true }, container: { image: 'b' } }))).toEqual({
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

  it.skipIf(!dir)(`container.image: 5 is caught by both checks ${NEEDS}`, () => {
    const error = '/spec/templates/0/container/image: must be string';
    expect(bySource(withTemplate({ container: { image: 5 } }))).toEqual({
      'schema.json': [error],
      crd: [error],
    });
  });

  it.skipIf(!dir)(
    `removed CronWorkflow \`schedule\`: all require schedules, only the CRD flags the field ${NEEDS}`,
    () => {
      expect(bySource(cronWithSingularSchedule())).toEqual({
        'schema.json': ["/spec: must have required property 'schedules'"],
        crd: [
          "/spec: must have required property 'schedules'",
          '/spec: must NOT have additional properties (unknown field "schedule")',
        ],
      });
    },
  );

  it.skipIf(!dir)(`201 DAG tasks: the CRD catches maxItems 200, schema.json does not ${NEEDS}`, () => {
    const error = '/spec/templates/0/dag/tasks: must NOT have more than 200 items';
    expect(bySource(dagWorkflow(201))).toEqual({ 'schema.json': [], crd: [error] });
    expect(bySource(dagWorkflow(200))).toEqual(ALL_PASS);
  });

  it.skipIf(!dir)(
    `removed synchronization.mutex and other unknown fields: only the CRD check catches them ${NEEDS}`,
    () => {
      expect(bySource(workflow({ synchronization: { mutex: { name: 'lock' } } }))).toEqual({
        'schema.json': [],
        crd: ['/spec/synchronization: must NOT have additional properties (unknown field "mutex")'],
      });
      expect(bySource(workflow({ synchronization: { mutexes: [{ name: 'lock' }] } }))).toEqual(ALL_PASS);
      expect(bySource(workflow({ entrypiont: 'main' }))).toEqual({
        'schema.json': [],
        crd: ['/spec: must NOT have additional properties (unknown field "entrypiont")'],
      });
    },
  );

  it.skipIf(!dir)(`concurrencyPolicy enum: the CRD, not schema.json ${NEEDS}`, () => {
    const error =
      '/spec/concurrencyPolicy: must be equal to one of the allowed values (allowed: ["Allow","Forbid","Replace"])';
    expect(bySource(cron({ concurrencyPolicy: 'Sometimes' }))).toEqual({
      'schema.json': [],
      crd: [error],
    });
  });

  it.skipIf(!dir)(`cron pattern: v4.1.2 (CRD) allows names; nonsense fails the CRD ${NEEDS}`, () => {
    const crd = parseYaml(readFileSync(`${dir}argoproj.io_cronworkflows.yaml`, 'utf8')) as {
      spec: {
        versions: {
          schema: {
            openAPIV3Schema: { properties: { spec: { properties: { schedules: { items: { pattern: string } } } } } };
          };
        }[];
      };
    };
    const items = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.schedules.items;
    expect(items.pattern).toBe(V4_1_2_SCHEDULE_PATTERN.source);
    expect(bySource(cron({ schedules: ['0 2 * * MON-FRI', '@daily'] }))).toEqual(ALL_PASS);
    const result = bySource(cron({ schedules: ['every day'] }));
    expect(result['schema.json']).toEqual([]);
    expect(result.crd).toEqual([expect.stringMatching(/^\/spec\/schedules\/0: must match pattern /)]);
  });

  it.skipIf(!dir)(`container without image: only schema.json requires image ${NEEDS}`, () => {
    expect(bySource(withTemplate({ container: { command: ['echo'] } }))).toEqual({
      'schema.json': ["/spec/templates/0/container: must have required property 'image'"],
      crd: [],
    });
  });

  it.skipIf(!dir)(`null for an object field: schema.json and CRD reject it ${NEEDS}`, () => {
    expect(bySource(workflow({ arguments: null }))).toEqual({
      'schema.json': ['/spec/arguments: must be object'],
      crd: ['/spec/arguments: must be object'],
    });
  });

  it.skipIf(!dir)(`parameter values must be strings in both checks ${NEEDS}`, () => {
    const error = '/spec/arguments/parameters/0/value: must be string';
    expect(bySource(workflow({ arguments: { parameters: [{ name: 'p', value: 5 }] } }))).toEqual({
      'schema.json': [error],
      crd: [error],
    });
  });

  it.skipIf(!dir)(`limitation: CRD CEL rules (x-kubernetes-validations) are not evaluated ${NEEDS}`, () => {
    // The CRD's CEL rule "template must have at most one template type" would reject this on a cluster.
    expect(bySource(withTemplate({ container: { image: 'b' }, script: { image: 'b', source: 'x' } }))).toEqual(
      ALL_PASS,
    );
  });

  it.skipIf(!dir)(`expectValidArgo lists every error with its source and instance path ${NEEDS}`, () => {
    const doc = workflow({
      synchronization: { mutex: { name: 'lock' } },
      templates: [{ name: 'main', container: { image: 5 } }],
    });
    let message = '';
    try {
      expectValidArgo(doc);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n').slice(1)).toEqual([
      '  [schema.json] /spec/templates/0/container/image: must be string',
      '  [crd] /spec/synchronization: must NOT have additional properties (unknown field "mutex")',
      '  [crd] /spec/templates/0/container/image: must be string',
    ]);
    expect(message.split('\n')[0]).toMatch(
      /^invalid Argo Workflow score- \(3 error\(s\); checks run: schema.json, crd\)/,
    );
  });
});
