import { BATCHSCORE_VERSION, parseJobSpec } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import {
  MAX_BACKFILL_DATES,
  renderBackfillRbac,
  renderBackfillTemplate,
  renderBackfillWorkflow,
} from './renderBackfill.js';

const job = parseJobSpec(
  `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: churn}
spec:
  input: {uri: "s3://data/in/{date}/"}
  model:
    uri: "s3://models/churn.onnx"
    version: "1"
    inputs: [{name: x, columns: [a]}]
    outputs: [{name: p, column: s}]
  output: {uri: "s3://out/churn/"}
`,
  { baseDir: '/' },
);
const days = (n: number) =>
  Array.from({ length: n }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10));

describe('renderBackfillWorkflow', () => {
  it('references batchscore-backfill and sets only arguments; more lanes than dates are not asked for', () => {
    const wf = renderBackfillWorkflow(job, days(3), { parallel: 8, skipComplete: true });
    expect(wf.metadata).toEqual({
      generateName: 'batchscore-churn-backfill-',
      labels: {
        'app.kubernetes.io/name': 'batchscore',
        'app.kubernetes.io/instance': 'churn',
        'app.kubernetes.io/version': BATCHSCORE_VERSION,
        'app.kubernetes.io/component': 'backfill',
        'app.kubernetes.io/part-of': 'batchscore',
        'app.kubernetes.io/managed-by': 'batchscore',
        'batchscore.dev/job': 'churn',
      },
    });
    expect(wf.spec).toEqual({
      workflowTemplateRef: { name: 'batchscore-backfill' },
      arguments: {
        parameters: [
          { name: 'job', value: 'churn' },
          { name: 'dates', value: '["2024-01-01","2024-01-02","2024-01-03"]' },
          { name: 'parallel', value: '3' },
          { name: 'skip-complete', value: 'true' },
        ],
      },
    });
  });

  it(`refuses no dates, more than ${MAX_BACKFILL_DATES}, and a parallel below 1`, () => {
    expect(() => renderBackfillWorkflow(job, [], { parallel: 1, skipComplete: false })).toThrow(
      'a backfill needs at least one date',
    );
    expect(() => renderBackfillWorkflow(job, days(401), { parallel: 1, skipComplete: false })).toThrow(
      '401 dates (2024-01-01 to 2025-02-04) is more than the 400 one backfill Workflow runs; split the range',
    );
    expect(() => renderBackfillWorkflow(job, days(2), { parallel: 0, skipComplete: false })).toThrow(
      '--parallel 0: expected an integer ≥ 1',
    );
  });
});

describe('renderBackfillTemplate', () => {
  it('K lanes of one date at a time, each date a child Workflow of the job template, waited on by its phase', () => {
    const t = renderBackfillTemplate();
    const [main, lane, date] = t.spec.templates!;
    expect(main!.steps![0]![0]).toMatchObject({
      template: 'lane',
      withSequence: { count: '{{workflow.parameters.parallel}}' },
    });
    expect([lane!.parallelism, lane!.failFast]).toEqual([1, false]);
    expect(lane!.steps![0]![0]!.withParam).toBe(
      '{{=toJson(map(filter(0..(len(fromJSON(workflow.parameters.dates)) - 1), ' +
        '{# % asInt(workflow.parameters.parallel) == asInt(inputs.parameters.lane)}), ' +
        '{fromJSON(workflow.parameters.dates)[#]}))}}',
    );
    expect(date!.resource).toMatchObject({
      action: 'create',
      setOwnerReference: true,
      successCondition: 'status.phase == Succeeded',
      failureCondition: 'status.phase in (Failed, Error)',
    });
    expect(date!.resource!.manifest).toContain("workflowTemplateRef: {name: 'batchscore-{{workflow.parameters.job}}'}");
    expect(t.spec.serviceAccountName).toBe('batchscore-backfill');
  });

  it('its identity may create and watch Workflows and report its steps, nothing else', () => {
    const [, role, binding] = renderBackfillRbac();
    expect(role.rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['create', 'get', 'list', 'watch'] },
      { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
    ]);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'batchscore-backfill' }]);
  });
});
