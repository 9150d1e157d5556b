import { readFile } from 'node:fs/promises';
import { renderJobConfigMap, renderWorkflow, renderWorkflowTemplate } from '@batchscore/coordinator';
import { parseJobSpec } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL } from '../support/cli.js';
import { runWorkflowLocally } from '../support/argoLocal.js';
import { writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { startHttpSink } from '../support/httpSink.js';
import { startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-07-01';

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

    it('plan → score × shards → merge gives exactly-once output with the right scores and manifest', async () => {
      const { table } = await writeCustomers(store, `customers/dt=${DATE}/`, 50_000, 25_000, 10_000);
      const wf = renderWorkflow(job(), DATE);
      const r = await runWorkflowLocally(wf, { secrets, env: {} });
      expect(r.phase, r.pods.map((p) => p.stderr).join('\n')).toBe('Succeeded');
      // 50k rows in 10k-row groups, 20k rows per shard → 3 shards (20k, 20k, 10k).
      // Fewer shards than spec.cluster.scorePods (4 × parallelism 2 = 8): one pod per shard, pod i of 3 scoring shard
      // i.
      expect(r.outputs.plan).toEqual({ shards: '3', pods: '3', complete: 'false' });
      expect(r.pods.map((p) => `${p.template}:${p.exitCode}`)).toEqual([
        'plan:0',
        'score:0',
        'score:0',
        'score:0',
        'merge:0',
      ]);
      const strides = r.pods
        .filter((p) => p.template === 'score')
        .map((p) => `${p.args[p.args.indexOf('--pod') + 1]}/${p.args[p.args.indexOf('--pods') + 1]}`);
      expect(strides.sort()).toEqual(['0/3', '1/3', '2/3']);

      const out = new S3Store({ bucket, prefix: 'scores/', client: s3.client });
      const m = await readManifest(out, DATE);
      expect(m).toMatchObject({
        status: 'complete',
        record_count: 50_000,
        input_record_count: 50_000,
        shard_count: 3,
        batch_date: DATE,
      });
      const { table: scored } = await readOutputRows(out, m);
      const cmp = compareToReference(
        scored,
        table.getChild('customer_id')!.toArray() as BigInt64Array,
        await referenceScores(table),
      );
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: cmp.maxDiff, rows: 50_000 });
      expect(cmp.maxDiff).toBe(0); // bit for bit: batching and tuning never change a score on CPU
      expect(await out.head(`batch_date=${DATE}/model_version=v3/_batch_failure.json`)).toBeUndefined();

      // The exit handler's command on a completed run changes nothing.
      const handler = wf.spec as { templates: { name: string }[] };
      expect(handler.templates.map((t) => t.name)).toContain('record-failure');
      const again = await runWorkflowLocally(
        {
          ...wf,
          spec: {
            ...wf.spec,
            templates: wf.spec.templates!.map((t) =>
              t.name === 'main' ? { ...t, dag: { tasks: [{ name: 'merge', template: 'merge' }] } } : t,
            ),
          },
        },
        { secrets },
      );
      expect(again.phase).toBe('Succeeded');
      expect((await readManifest(out, DATE)).finished_at).toBe(m.finished_at);
    });

    it(
      'the WorkflowTemplate with the job in its ConfigMap: plan reads the mounted job, ' +
        'score and merge only the plan URI; skip-complete=true then runs plan alone',
      async () => {
        const date = '2024-07-06';
        const { table } = await writeCustomers(store, `customers/dt=${date}/`, 30_000, 10_000, 10_000);
        const text = jobText();
        const cm = renderJobConfigMap(job(), text) as { metadata: { name: string }; data: Record<string, string> };
        const configMaps = { [cm.metadata.name]: cm.data };
        const wt = renderWorkflowTemplate(job());
        const r = await runWorkflowLocally(wt, { secrets, configMaps, parameters: { date } });
        expect(r.phase, r.pods.map((p) => p.stderr).join('\n')).toBe('Succeeded');
        expect(r.outputs.plan).toEqual({ shards: '2', pods: '2', complete: 'false' });
        const planUri = `s3://${bucket}/scores/_batchscore/${date}/v3/plan.json`;
        // The job is an argument of the pods that need it (a file of the ConfigMap's), never its text.
        expect(
          r.pods.map((p) => [p.template, p.args.slice(0, 3).map((a) => (a.endsWith('/job.yaml') ? 'JOB.yaml' : a))]),
        ).toEqual([
          ['plan', ['plan', 'JOB.yaml', '--date']],
          ['score', ['score', '--plan', planUri]],
          ['score', ['score', '--plan', planUri]],
          ['merge', ['merge', '--plan', planUri]],
        ]);
        expect(r.pods.every((p) => !p.args.some((a) => a.includes('"spec"')))).toBe(true);
        const out = new S3Store({ bucket, prefix: 'scores/', client: s3.client });
        const m = await readManifest(out, date);
        const { table: scored } = await readOutputRows(out, m);
        const cmp = compareToReference(
          scored,
          table.getChild('customer_id')!.toArray() as BigInt64Array,
          await referenceScores(table),
        );
        expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 30_000 });

        // Published for this model: with skip-complete=true the run is plan alone, which says so, and changes nothing.
        const again = await runWorkflowLocally(wt, {
          secrets,
          configMaps,
          parameters: { date, 'skip-complete': 'true' },
        });
        expect(again.phase).toBe('Succeeded');
        expect(again.outputs.plan).toEqual({ shards: '0', pods: '0', complete: 'true' });
        expect(again.pods.map((p) => p.template)).toEqual(['plan']);
        expect((await readManifest(out, date)).finished_at).toBe(m.finished_at);
      },
    );

    it(
      'more shards than spec.cluster.scorePods: plan writes the pod count, each pod scores ' +
        'its stride, output exactly once',
      async () => {
        const date = '2024-07-05';
        const { table } = await writeCustomers(store, `customers/dt=${date}/`, 50_000, 25_000, 10_000);
        const r = await runWorkflowLocally(renderWorkflow(job(undefined, '', '    scorePods: 2\n'), date), { secrets });
        expect(r.phase, r.pods.map((p) => p.stderr).join('\n')).toBe('Succeeded');
        expect(r.outputs.plan).toEqual({ shards: '3', pods: '2', complete: 'false' });
        expect(r.pods.map((p) => `${p.template}:${p.exitCode}`)).toEqual(['plan:0', 'score:0', 'score:0', 'merge:0']);
        // Pod 0 of 2 scores shards 0 and 2; pod 1 scores shard 1.
        const lines = (p: (typeof r.pods)[number]) =>
          p.stderr
            .split('\n')
            .filter((l) => l.includes('rows scored'))
            .map((l) => JSON.parse(l).shard);
        const byPod = Object.fromEntries(
          r.pods.filter((p) => p.template === 'score').map((p) => [p.args[p.args.indexOf('--pod') + 1], lines(p)]),
        );
        expect(byPod).toEqual({ '0': [0, 2], '1': [1] });
        const out = new S3Store({ bucket, prefix: 'scores/', client: s3.client });
        const m = await readManifest(out, date);
        expect(m).toMatchObject({ status: 'complete', record_count: 50_000, shard_count: 3 });
        const { table: scored } = await readOutputRows(out, m);
        const cmp = compareToReference(
          scored,
          table.getChild('customer_id')!.toArray() as BigInt64Array,
          await referenceScores(table),
        );
        expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 50_000 });
      },
    );

    it(
      'a permanent failure is not retried, fails the Workflow, and the exit handler records ' + 'it beside the output',
      async () => {
        const date = '2024-07-02';
        await writeCustomers(store, `customers/dt=${date}/`, 30_000, 30_000, 10_000);
        const wf = renderWorkflow(job('[{name: probs, index: 1, column: p}]'), date);
        const r = await runWorkflowLocally(wf, { secrets, name: 'credit-risk-2024-07-02-abcde' });
        expect(r.phase).toBe('Failed');
        // plan succeeds (it does not load the model); score exits 65 (permanent): no retries, no merge; then the
        // handler.
        expect(
          r.pods.map((p) => `${p.template}:${p.exitCode}:${p.attempt}`).filter((x) => !x.startsWith('score')),
        ).toEqual(['plan:0:0', 'record-failure:0:0']);
        const scores = r.pods.filter((p) => p.template === 'score');
        expect(scores.length).toBeGreaterThanOrEqual(1);
        expect(scores.every((p) => p.exitCode === 65 && p.attempt === 0)).toBe(true);
        const out = new S3Store({ bucket, prefix: 'scores/', client: s3.client });
        expect(await out.head(`batch_date=${date}/model_version=v3/_batch_manifest.json`)).toBeUndefined();
        const failure = JSON.parse(
          new TextDecoder().decode(await out.get(`batch_date=${date}/model_version=v3/_batch_failure.json`)),
        );
        expect(failure).toMatchObject({
          status: 'failed',
          job: 'credit-risk',
          batch_date: date,
          model_version: 'v3',
          workflow: 'credit-risk-2024-07-02-abcde',
          workflow_status: 'Failed',
        });
        expect(failure.failures[0]).toMatchObject({ templateName: 'score' });
        // Pods log JSON lines: the message is the error's line, with its code.
        const logged = JSON.parse(failure.failures[0].message);
        expect(logged).toMatchObject({ level: 'error', code: 'MODEL_INVALID', exitCode: 65 });
        expect(logged.msg).toContain('the model has no output "probs"');
      },
    );

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
