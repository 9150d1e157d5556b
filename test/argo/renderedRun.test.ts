import { readFile } from 'node:fs/promises';
import { renderWorkflow } from '@batchscore/coordinator';
import { parseJobSpec } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL } from '../support/cli.js';
import { runWorkflowLocally } from '../support/argoLocal.js';
import { writeCustomers } from '../support/data.js';
import { startHttpSink } from '../support/httpSink.js';
import { startS3, type S3Server } from '../support/s3server.js';

// The rendered Workflow's pods as local processes (test/support/argoLocal.ts), for what the real-engine suite
// (npm run test:cluster) does not check: the score and merge pods' pushes to a Pushgateway, and the exit handler's
// notify pod posting a completed run as well as a failed one, with its URL from a Secret. What that suite does run
// on the real controller is no longer run here (exactly once through the rendered Workflow, the WorkflowTemplate
// with its ConfigMap and skip-complete, strides, a permanent failure and its record): see docs/testing.md.

describe(
  'the rendered Workflow runs the pipeline: each template’s command, args and env, ' + 'as Argo would run them',
  () => {
    let s3: S3Server;
    let bucket: string;
    let store: S3Store;
    const secrets = { 'batchscore-s3': { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } };

    const job = (outputs?: string, extra?: string, clusterExtra?: string) =>
      parseJobSpec(jobText(outputs, extra, clusterExtra), { baseDir: '/' });
    const jobText = (
      outputs = '[{name: probabilities, index: 1, column: default_probability}]',
      extra = '',
      clusterExtra = '',
    ) =>
      `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: credit-risk}
spec:
  input: {uri: "s3://${bucket}/customers/dt={date}/", format: parquet}
  model:
    uri: "s3://${bucket}/models/credit.onnx"
    version: v3
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs: ${outputs}
  output: {uri: "s3://${bucket}/scores/", passthrough: [customer_id]}
  sharding: {rowsPerShard: 20000}
${extra}  cluster:
    namespace: scoring
    parallelism: 2
    s3Secret: {name: batchscore-s3}
    env: {AWS_REGION: us-east-1, AWS_ENDPOINT_URL_S3: "${s3.endpoint}", BATCHSCORE_S3_FORCE_PATH_STYLE: "1"}
${clusterExtra}`;

    beforeAll(async () => {
      s3 = await startS3();
      bucket = await s3.bucket('bs-argo');
      store = new S3Store({ bucket, prefix: '', client: s3.client });
      await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    });
    afterAll(async () => s3?.stop());

    it(
      "with spec.notify and spec.metrics: pods push metrics, and the exit handler's notify " +
        'pod posts the outcome with the URL from a Secret',
      async () => {
        const gateway = await startHttpSink();
        const hook = await startHttpSink();
        try {
          const spec = (outputs?: string) =>
            job(
              outputs,
              `  metrics: {pushgateway: "${gateway.url}"}\n  notify: {webhook: {urlFromEnv: WEBHOOK_URL}}\n`,
              '    webhookSecret: {name: batchscore-webhook, key: url}\n',
            );
          const withHook = { ...secrets, 'batchscore-webhook': { url: `${hook.url}/T000/B000/secret` } };
          const date = '2024-07-03';
          await writeCustomers(store, `customers/dt=${date}/`, 30_000, 30_000, 10_000);
          const ok = await runWorkflowLocally(renderWorkflow(spec(), date), { secrets: withHook });
          expect(ok.phase, ok.pods.map((p) => p.stderr).join('\n')).toBe('Succeeded');
          expect(ok.pods.map((p) => p.template)).toEqual(['plan', 'score', 'score', 'merge', 'notify']);
          expect(gateway.received.map((q) => `${q.method} ${q.url.replace(/.*\/shard\//, 'shard/')}`).sort()).toEqual([
            'PUT shard/00000',
            'PUT shard/00001',
            'PUT shard/merge',
          ]);
          expect(hook.received).toHaveLength(1);
          expect(hook.received[0]!.url).toBe('/T000/B000/secret');
          expect(JSON.parse(hook.received[0]!.body)).toMatchObject({
            event: 'batchscore.run.completed',
            batch_date: date,
            summary: { record_count: 30_000 },
          });

          const failDate = '2024-07-04';
          await writeCustomers(store, `customers/dt=${failDate}/`, 30_000, 30_000, 10_000);
          const bad = await runWorkflowLocally(renderWorkflow(spec('[{name: probs, index: 1, column: p}]'), failDate), {
            secrets: withHook,
            name: 'credit-risk-2024-07-04-xyz',
          });
          expect(bad.phase).toBe('Failed');
          expect(bad.pods.map((p) => p.template).slice(-2)).toEqual(['record-failure', 'notify']);
          const n = JSON.parse(hook.received[1]!.body);
          expect(n).toMatchObject({
            event: 'batchscore.run.failed',
            batch_date: failDate,
            workflow: 'credit-risk-2024-07-04-xyz',
            error: { code: 'WORKFLOW_FAILED' },
          });
          expect(n.error.message).toMatch(
            new RegExp(
              String.raw`^workflow credit-risk-2024-07-04-xyz Failed: score: \[MODEL_INVALID\] s3:\/` +
                String.raw`\/.*: spec\.model\.outputs\[0\]\.name: the model has no output "probs"`,
            ),
          );
        } finally {
          await gateway.stop();
          await hook.stop();
        }
      },
    );
  },
);
