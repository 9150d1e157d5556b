import { MAX_SCORE_PODS, parseJobSpec, SCORE_PODS_PER_SLOT } from '@batchscore/core';
import { retryExpression } from './renderWorkflowSpec.js';

/**
 * Pure: the defaults the Helm chart applies to what a job leaves out of spec.cluster, taken from the spec parser
 * itself (a job that sets nothing, and one that sets only the required parts of each optional section), so the
 * chart and `batchscore render` cannot drift apart. `npm run render:examples` writes them into
 * helm/batchscore/templates/_defaults.tpl; resources, image and pull policy come from the chart's values instead.
 */
export function toChartDefaults(): Record<string, unknown> {
  const bare = parse('');
  const full = parse(`
    s3Secret: {name: x}
    webhookSecret: {name: x}
    gpuSemaphore: {configMap: x}
    schedule: {crons: ["0 2 * * *"]}`);
  const s3Secret = full.s3Secret!;
  const { crons: _crons, ...scheduleDefaults } = full.schedule!;
  return {
    serviceAccount: bare.serviceAccount,
    parallelism: bare.parallelism,
    scorePodsPerSlot: SCORE_PODS_PER_SLOT,
    maxScorePods: MAX_SCORE_PODS,
    retries: bare.retries,
    retryExpression: retryExpression(),
    activeDeadlineSeconds: bare.activeDeadlineSeconds,
    terminationGracePeriodSeconds: bare.terminationGracePeriodSeconds,
    podGC: bare.podGC,
    ttlStrategy: bare.ttlStrategy,
    shmSize: bare.shmSize,
    s3Secret: { accessKeyIdKey: s3Secret.accessKeyIdKey, secretAccessKeyKey: s3Secret.secretAccessKeyKey },
    webhookSecretKey: full.webhookSecret!.key,
    gpuSemaphoreKey: full.gpuSemaphore!.key,
    schedule: scheduleDefaults,
  };
}

/**
 * Pure: the resources a job gets when it sets none, for the chart's values.yaml (`resources.worker`, `.coordinator`).
 */
export function toDefaultResources(): { worker: unknown; coordinator: unknown } {
  const c = parse('');
  return { worker: c.resources, coordinator: c.coordinatorResources };
}

function parse(cluster: string) {
  const text = `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: defaults}
spec:
  input: {uri: "s3://input/x/"}
  model:
    uri: "s3://models/model.onnx"
    version: "1"
    inputs: [{name: x, columns: [a]}]
    outputs: [{name: y, column: score}]
  output: {uri: "s3://output/x/"}
  cluster:${cluster === '' ? ' {}' : cluster}
`;
  return parseJobSpec(text, { baseDir: '/' }).spec.cluster;
}
