import { DEFAULT_IMAGE, EXIT, type ScoringJob } from '@batchscore/core';
import { jobLabels, mutexName } from './names.js';

type Obj = Record<string, unknown>;

export interface RenderOptions {
  /** Overrides spec.cluster.image (e.g. a CI-built tag). */
  image?: string;
  /** Overrides spec.cluster.namespace (`--namespace`); with neither, the objects name no namespace. */
  namespace?: string;
}

const DATE = '{{workflow.parameters.date}}';
const SCRATCH = '/tmp';
const SHARD_COUNT_FILE = `${SCRATCH}/shards`;
const POD_COUNT_FILE = `${SCRATCH}/pods`;
const PODS = '{{tasks.plan.outputs.parameters.pods}}';
const RUN_AS = 10001;

/**
 * The Workflow spec shared by the Workflow and the WorkflowTemplate: a DAG plan → score (withSequence over the
 * pod count plan writes) → merge, and an exit handler that records a failed run. Shard descriptions never pass
 * through Argo parameters: each score pod reads its shards from the plan in object storage. Pods ≠ shards: plan
 * writes P = min(shards, spec.cluster.scorePods), and score pod i of P scores shards i, i+P, i+2P, … in turn
 * (`score --pod i --pods P`), so the nodes Argo keeps in the Workflow's status grow with P, not with the shards.
 */
export function renderWorkflowSpec(job: ScoringJob, opts: RenderOptions = {}): Obj {
  const c = job.spec.cluster;
  const image = opts.image ?? c.image ?? DEFAULT_IMAGE;
  const jobJson = toJobJson(job);
  const common = ['--job-json', jobJson, '--date', DATE];
  const retryStrategy = {
    limit: c.retries.limit,
    retryPolicy: 'Always',
    expression: retryExpression(),
    backoff: { duration: c.retries.backoff.duration, factor: c.retries.backoff.factor, maxDuration: c.retries.backoff.maxDuration },
  };
  const gpu = c.gpusPerWorker > 0;
  const webhook = job.spec.notify.webhook;
  const outcome = ['--workflow', '{{workflow.name}}', '--status', '{{workflow.status}}', '--failures', '{{workflow.failures}}'];
  const metricLabels = [
    { key: 'job', value: job.metadata.name },
    { key: 'model_version', value: job.spec.model.version },
  ];

  const container = (args: string[], resources: Obj, extraMounts: Obj[] = [], extraEnv: Obj[] = []) => ({
    image,
    ...(c.imagePullPolicy ? { imagePullPolicy: c.imagePullPolicy } : {}),
    command: ['batchscore'],
    args,
    env: [...env(job), ...extraEnv],
    resources,
    volumeMounts: [{ name: 'scratch', mountPath: SCRATCH }, ...extraMounts],
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS,
      runAsGroup: RUN_AS,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
  });
  const coordRes = k8sResources(c.coordinatorResources.requests, c.coordinatorResources.limits);
  const workerLimits = { ...c.resources.limits, ...(gpu ? { 'nvidia.com/gpu': String(c.gpusPerWorker) } : {}) };
  const workerRes = k8sResources(c.resources.requests, workerLimits);
  const tolerations = [...c.tolerations, ...(gpu && !c.tolerations.some((t) => t.key === 'nvidia.com/gpu') ? [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] : [])];
  const nodeSelector = { ...c.nodeSelector, ...(gpu && c.gpuProduct ? { 'nvidia.com/gpu.product': c.gpuProduct } : {}) };

  const templates: Obj[] = [
    {
      name: 'main',
      dag: {
        tasks: [
          { name: 'plan', template: 'plan' },
          {
            name: 'score',
            template: 'score',
            depends: 'plan',
            withSequence: { count: PODS },
            arguments: {
              parameters: [
                { name: 'pod', value: '{{item}}' },
                { name: 'pods', value: PODS },
              ],
            },
          },
          { name: 'merge', template: 'merge', depends: 'score' },
        ],
      },
      // Most score pods at once (plan and merge run alone, before and after).
      parallelism: c.parallelism,
    },
    {
      name: 'plan',
      container: container(['plan', ...common, '--shard-count-file', SHARD_COUNT_FILE, '--pod-count-file', POD_COUNT_FILE, '--max-pods', String(c.scorePods)], coordRes),
      outputs: {
        parameters: [
          { name: 'shards', valueFrom: { path: SHARD_COUNT_FILE } },
          { name: 'pods', valueFrom: { path: POD_COUNT_FILE } },
        ],
      },
      retryStrategy,
    },
    {
      name: 'score',
      inputs: { parameters: [{ name: 'pod' }, { name: 'pods' }] },
      container: container(['score', ...common, '--pod', '{{inputs.parameters.pod}}', '--pods', '{{inputs.parameters.pods}}'], workerRes, [{ name: 'dshm', mountPath: '/dev/shm' }]),
      retryStrategy,
      ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
      ...(tolerations.length ? { tolerations } : {}),
      // Argo templates have no runtimeClassName field; the pod spec patch sets it.
      ...(gpu && c.runtimeClassName ? { podSpecPatch: JSON.stringify({ runtimeClassName: c.runtimeClassName }) } : {}),
      ...(c.gpuSemaphore ? { synchronization: { semaphores: [{ configMapKeyRef: { name: c.gpuSemaphore.configMap, key: c.gpuSemaphore.key } }] } } : {}),
    },
    {
      name: 'merge',
      container: container(['merge', ...common], coordRes),
      retryStrategy,
    },
    {
      name: 'exit-handler',
      // A one-task DAG rather than steps: Argo's ParallelSteps (a list of lists) is modelled as an object by
      // some schema tooling, and a DAG task takes the same `when`.
      dag: {
        tasks: [
          { name: 'record-failure', template: 'record-failure', when: '{{workflow.status}} != Succeeded' },
          // Sent on success and on failure; it reads the manifest itself, so it needs no ordering.
          ...(webhook ? [{ name: 'notify', template: 'notify' }] : []),
        ],
      },
    },
    {
      name: 'record-failure',
      container: container(['record-failure', ...common, ...outcome], coordRes),
      retryStrategy,
    },
    ...(webhook
      ? [
          {
            name: 'notify',
            container: container(
              ['notify', ...common, ...outcome],
              coordRes,
              [],
              webhook.urlFromEnv && c.webhookSecret ? [{ name: webhook.urlFromEnv, valueFrom: { secretKeyRef: { name: c.webhookSecret.name, key: c.webhookSecret.key } } }] : [],
            ),
            retryStrategy,
          },
        ]
      : []),
  ];

  return {
    entrypoint: 'main',
    onExit: 'exit-handler',
    // Emitted by the Argo controller when the Workflow ends (as argo_workflows_batchscore_…), whatever the pods did.
    metrics: {
      prometheus: [
        {
          name: 'batchscore_workflow_duration_seconds',
          help: 'Wall time of a batchscore Workflow, by outcome.',
          labels: [...metricLabels, { key: 'status', value: '{{workflow.status}}' }],
          gauge: { value: '{{workflow.duration}}', realtime: false },
        },
        {
          name: 'batchscore_workflow_result_total',
          help: 'batchscore Workflows finished, by outcome (Succeeded, Failed, Error).',
          labels: [...metricLabels, { key: 'status', value: '{{workflow.status}}' }],
          counter: { value: '1' },
        },
      ],
    },
    serviceAccountName: c.serviceAccount,
    activeDeadlineSeconds: c.activeDeadlineSeconds,
    podGC: { strategy: c.podGC.strategy },
    ttlStrategy: c.ttlStrategy,
    synchronization: { mutexes: [{ name: mutexName(job, DATE) }] },
    podMetadata: { labels: jobLabels(job) },
    securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' } },
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: c.shmSize } },
    ],
    templates,
  };
}

/** Exit 137: SIGKILL, from the OOM killer or after the kubelet's grace period. Not a batchscore code. */
const SIGKILLED = 137;

/**
 * Argo's retryStrategy.expression (expr-lang) for every pod template: retry a retryable exit (75), a pod killed
 * (137: OOM-killed, or SIGKILLed after the grace period), and a pod that went away with its node (Argo's own
 * messages: "pod deleted" for a pod deleted while running, an Error node with no exit code; the kubelet's "…
 * imminent node shutdown"), unless it exited with a permanent code (64, 65, 70) first. A bad spec, model or
 * input fails at once.
 *
 * It compares lastRetry.exitCode as a string, so it cannot fail: Argo v4 sets it to "-1" when the pod has no exit
 * code, but an expression that errors marks the node Error and ends the workflow, and asInt("") would. `||`
 * short-circuits, and lastRetry.message exists since Argo 3.5.
 */
export function retryExpression(): string {
  const codes = (xs: number[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
  const permanent = codes([EXIT.USAGE, EXIT.PERMANENT, EXIT.INTERNAL]);
  return (
    `lastRetry.exitCode in ${codes([EXIT.RETRYABLE, SIGKILLED])} || ` +
    `(lastRetry.message matches 'pod deleted|imminent node shutdown' && !(lastRetry.exitCode in ${permanent}))`
  );
}

/** The job as the pods get it: resolved URIs, no cluster section (pods do not need it). */
export function toJobJson(job: ScoringJob): string {
  const { cluster: _cluster, ...spec } = job.spec;
  return JSON.stringify({ ...job, spec });
}

function env(job: ScoringJob): Obj[] {
  const c = job.spec.cluster;
  // Pods log JSON lines for the cluster's log pipeline.
  const out: Obj[] = [{ name: 'BATCHSCORE_LOG_FORMAT', value: 'json' }, ...Object.entries(c.env).map(([name, value]) => ({ name, value }))];
  if (c.s3Secret) {
    // Credentials only by reference: the rendered YAML never holds a secret.
    out.push(
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: c.s3Secret.name, key: c.s3Secret.accessKeyIdKey } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: c.s3Secret.name, key: c.s3Secret.secretAccessKeyKey } } },
    );
  }
  return out;
}

function k8sResources(requests: Record<string, string>, limits: Record<string, string>): Obj {
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}
