import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OUTPUT, generateArgoTypes, reachable, typeNames } from '../../scripts/gen-argo-types.mjs';
import { ARGO_CONFORMANCE_FOLDER, argoConformanceDir } from '../support/argoSchema.js';

// packages/coordinator/src/render/argoTypes.ts is generated from Argo's schema.json, which lives beside the
// repository (../shared), not in it: the comparison runs where that folder is, and says so where it is not.
const dir = argoConformanceDir();
const SKIP =
  `argoTypes.ts not compared with its generator: ${ARGO_CONFORMANCE_FOLDER}schema.json ` +
  `not found (relative to the repository root; override with ARGO_CONFORMANCE_DIR)`;
if (!dir) console.warn(SKIP);

describe('argoTypes.ts, generated from Argo v4.1.2’s schema.json', () => {
  it.skipIf(!dir)(
    'the committed file is what scripts/gen-argo-types.mjs generates (run it after changing the script)',
    () => {
      const schema = JSON.parse(readFileSync(`${dir}schema.json`, 'utf8'));
      expect(readFileSync(OUTPUT, 'utf8')).toBe(generateArgoTypes(schema));
    },
  );

  it('exports the friendly names, with apiVersion and kind as literals on the three kinds', () => {
    const ts = readFileSync(OUTPUT, 'utf8');
    const exported = new Set([...ts.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]));
    const wanted = [
      'Workflow',
      'WorkflowTemplate',
      'CronWorkflow',
      'WorkflowSpec',
      'CronWorkflowSpec',
      'Template',
      'DAGTask',
      'WorkflowStep',
      'Parameter',
      'Arguments',
      'Inputs',
      'Outputs',
      'Container',
      'EnvVar',
      'Volume',
      'VolumeMount',
      'RetryStrategy',
      'ResourceTemplate',
      'Toleration',
      'ResourceRequirements',
      'Metrics',
      'Synchronization',
      'SecurityContext',
      'PodSecurityContext',
      'ObjectMeta',
    ];
    expect(wanted.filter((n) => !exported.has(n))).toEqual([]);
    for (const kind of ['Workflow', 'WorkflowTemplate', 'CronWorkflow']) {
      expect(ts).toContain(`export interface ${kind} {\n  apiVersion: 'argoproj.io/v1alpha1';\n  kind: '${kind}';\n`);
    }
    // Argo's Container: only the image is required.
    expect(ts).toMatch(/export interface Container \{\n( {2}\w+\?: .*;\n)* {2}image: string;\n( {2}\w+\?: .*;\n)*\}/);
    expect(ts).toContain('export type IntOrString = number | string;');
  });

  it('writes only what the three kinds reach, and names a clash after the group and version', () => {
    const definitions = {
      'io.argoproj.workflow.v1alpha1.Workflow': {
        type: 'object',
        properties: { h: { $ref: '#/definitions/io.argoproj.workflow.v1alpha1.HTTPHeader' } },
      },
      'io.argoproj.workflow.v1alpha1.WorkflowTemplate': {
        type: 'object',
        properties: { h: { $ref: '#/definitions/io.k8s.api.core.v1.HTTPHeader' } },
      },
      'io.argoproj.workflow.v1alpha1.CronWorkflow': { type: 'object', properties: {} },
      'io.argoproj.workflow.v1alpha1.HTTPHeader': { type: 'object', properties: {} },
      'io.k8s.api.core.v1.HTTPHeader': { type: 'object', properties: {} },
      'io.k8s.api.core.v1.Unused': { type: 'object', properties: {} },
    };
    const keys = reachable(definitions);
    expect([...keys].sort()).toEqual(
      Object.keys(definitions)
        .filter((k) => !k.endsWith('Unused'))
        .sort(),
    );
    expect(Object.fromEntries(typeNames([...keys]))).toEqual({
      'io.argoproj.workflow.v1alpha1.Workflow': 'Workflow',
      'io.argoproj.workflow.v1alpha1.WorkflowTemplate': 'WorkflowTemplate',
      'io.argoproj.workflow.v1alpha1.CronWorkflow': 'CronWorkflow',
      'io.argoproj.workflow.v1alpha1.HTTPHeader': 'HTTPHeader',
      'io.k8s.api.core.v1.HTTPHeader': 'CoreV1HTTPHeader',
    });
  });
});
