import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { renderCronWorkflow, renderWorkflow, renderWorkflowTemplate } from '@batchscore/coordinator';
import { parseJobSpec, readJobFile } from '@batchscore/core';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { present } from '../support/present.js';
import { ARGO_CONFORMANCE_SKIP_MESSAGE, conformanceAvailable, validateArgo } from '../support/argoSchema.js';
import { REPO } from '../support/cli.js';

const GPU = `  cluster:
    gpusPerWorker: 1
    gpuProduct: NVIDIA-A10G
    runtimeClassName: nvidia
    tolerations: [{key: dedicated, operator: Equal, value: scoring, effect: NoSchedule}]
    nodeSelector: {pool: gpu}
    s3Secret: {name: batchscore-s3}
    gpuSemaphore: {configMap: batchscore-gpu, key: workers}
    schedule: {crons: ["0 2 * * MON-FRI"], timezone: Europe/Berlin}
`;
const job = (cluster: string) =>
  parseJobSpec(
    `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: credit-risk}
spec:
  input: {uri: "s3://data/customers/{date}/"}
  model:
    uri: "s3://models/credit.onnx"
    version: v3
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: p}]
  output: {uri: "s3://scores/credit-risk/", passthrough: [customer_id]}
  sharding: {rowsPerShard: 1000}
${cluster}`,
    { baseDir: '/' },
  );

// Both checks need Argo's schemas from ../shared (absent in a user's clone): without them nothing here runs.
const available = conformanceAvailable();
if (!available) console.warn(ARGO_CONFORMANCE_SKIP_MESSAGE);

function expectAllValid(doc: unknown) {
  const results = validateArgo(doc);
  expect(results.map((r) => r.source)).toEqual(['schema.json', 'crd']);
  for (const r of results) expect(r.errors, `${r.source}: ${r.errors.join('\n')}`).toEqual([]);
}

describe.skipIf(!available)(
  'every rendered document validates against Argo v4.1.2’s own schemas (schema.json, full CRDs)',
  () => {
    it.each([
      ['CPU-only', ''],
      ['GPU', GPU],
    ])('%s Workflow, WorkflowTemplate and CronWorkflow', (_name, cluster) => {
      const j = job(cluster + (cluster ? '' : '  cluster:\n    schedule: {crons: ["0 2 * * *"]}\n'));
      expectAllValid(renderWorkflow(j, '2024-01-15'));
      expectAllValid(renderWorkflowTemplate(j));
      expectAllValid(renderCronWorkflow(j));
    });

    it.each(['credit-risk.workflowtemplate.yaml', 'credit-risk.cronworkflow.yaml'])(
      'the committed argo/%s',
      async (file) => {
        expectAllValid(parse(await readFile(path.join(REPO, 'argo', file), 'utf8'), { version: '1.1' }));
      },
    );

    it('the example job renders a valid Workflow for a date', async () => {
      expectAllValid(renderWorkflow(await readJobFile(path.join(REPO, 'examples/credit-risk.yaml')), '2024-01-15'));
    });

    // Unknown fields are caught by the full CRDs only.
    it('the check can fail: a misspelt field in a rendered Workflow is caught by the CRD', () => {
      const wf = present(renderWorkflow(job(GPU), '2024-01-15'));
      Object.assign(wf.spec.templates.find((t) => t.name === 'score')!.retryStrategy, { limitt: 3 });
      const errors = validateArgo(wf).flatMap((r) => r.errors.map((e) => `${r.source}: ${e}`));
      expect(errors.some((e) => e.startsWith('crd:') && e.includes('limitt'))).toBe(true);
    });
  },
);
