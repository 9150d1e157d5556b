import { defaultImage, EXIT, IMAGE_ENV, storageEnv, type ScoringJob } from '@batchscore/core';
// Argo's own types (generated from its schema.json): tsc rejects a misspelt or misplaced field here, at build time.
import type { Container, EnvVar, ResourceRequirements, Template, VolumeMount, WorkflowSpec } from './argoTypes.js';
import { JOB_FILE, JOB_KEY, JOB_MOUNT, jobConfigMapName, jobLabels, mutexName, planUri } from './names.js';

export interface RenderOptions {
  /** Overrides spec.cluster.image (e.g. a CI-built tag). */
  image?: string;
  /** Overrides spec.cluster.namespace (`--namespace`); with neither, the objects name no namespace. */
  namespace?: string;
}

/**
 * Where the plan, record-failure and notify pods read the job. `configMap`: the job's ConfigMap
 * (batchscore-job-NAME), mounted read-only, so a WorkflowTemplate changes only with the cluster's shape, not with a
 * column or a threshold. `parameter`: the workflow parameter `job` (a self-contained Workflow, `submit --inline`).
 * Score and merge pods read neither: they are given the plan's URI, and the plan holds the job as planned, so a
 * job changed while a run is under way (a `helm upgrade`) never reaches its score or merge pods.
 */
export type JobSource = 'configMap' | 'parameter';

const DATE = '{{workflow.parameters.date}}';
const SKIP_COMPLETE = '{{workflow.parameters.skip-complete}}';
const SCRATCH = '/tmp';
const SHARD_COUNT_FILE = `${SCRATCH}/shards`;
const POD_COUNT_FILE = `${SCRATCH}/pods`;
const COMPLETE_FILE = `${SCRATCH}/complete`;
const PODS = '{{tasks.plan.outputs.parameters.pods}}';
const NOT_COMPLETE = '{{tasks.plan.outputs.parameters.complete}} != true';
const RUN_AS = 10001;

/**
 * The Workflow spec shared by the Workflow and the WorkflowTemplate: a DAG plan → score (withSequence over the
 * pod count plan writes) → merge, and an exit handler that records a failed run. Shard descriptions never pass
 * through Argo parameters: each score pod reads its shards from the plan in object storage. Pods ≠ shards: plan
 * writes P = min(shards, spec.cluster.scorePods), and score pod i of P scores shards i, i+P, i+2P, … in turn
 * (`score --pod i --pods P`), so the nodes Argo keeps in the Workflow's status grow with P, not with the shards.
 * With skip-complete=true (backfills) plan finds a date already published for this model and says so (output
 * `complete`): score and merge are then skipped.
 */
export function renderWorkflowSpec(job: ScoringJob, opts: RenderOptions & { jobSource: JobSource }): WorkflowSpec {
  const c = job.spec.cluster;
  const gpu = c.gpusPerWorker > 0;
  // The CUDA image only for GPU score pods: a CPU-only job, and every pod that plans, merges or reports, runs the
  // plain Node one (a GPU job's coordinator pods need no CUDA runtime on their node, nor a GPU node at all).
  const image = opts.image ?? c.image ?? defaultImage(c.gpusPerWorker);
  const coordinatorImage = c.coordinatorImage ?? (gpu ? defaultImage(0) : image);
  const jobArgs = opts.jobSource === 'configMap' ? [JOB_FILE] : ['--job-json', '{{workflow.parameters.job}}'];
  const jobMount: VolumeMount[] =
    opts.jobSource === 'configMap' ? [{ name: 'job', mountPath: JOB_MOUNT, readOnly: true }] : [];
  const plan = ['--plan', planUri(job, DATE)];
  const retryStrategy = {
    limit: c.retries.limit,
    retryPolicy: 'Always',
    expression: retryExpression(),
    backoff: {
      duration: c.retries.backoff.duration,
      factor: c.retries.backoff.factor,
      maxDuration: c.retries.backoff.maxDuration,
    },
  };
  const webhook = job.spec.notify.webhook;
  const outcome = [
    '--workflow',
    '{{workflow.name}}',
    '--status',
    '{{workflow.status}}',
    '--failures',
    '{{workflow.failures}}',
  ];
  const metricLabels = [
    { key: 'job', value: job.metadata.name },
    { key: 'model_version', value: job.spec.model.version },
  ];

  const container = (
    args: string[],
    resources: ResourceRequirements,
    extraMounts: VolumeMount[] = [],
    extraEnv: EnvVar[] = [],
    containerImage = coordinatorImage,
  ): Container => ({
    image: containerImage,
    ...(c.imagePullPolicy ? { imagePullPolicy: c.imagePullPolicy } : {}),
    command: ['batchscore'],
    args,
    env: [...env(job, image), ...extraEnv],
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
  const tolerations = [
    ...c.tolerations,
    ...(gpu && !c.tolerations.some((t) => t.key === 'nvidia.com/gpu')
      ? [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]
      : []),
  ];
  const nodeSelector = {
    ...c.nodeSelector,
    ...(gpu && c.gpuProduct ? { 'nvidia.com/gpu.product': c.gpuProduct } : {}),
  };
  // Where plan, merge, record-failure and notify pods go: their own placement, apart from the score pods'.
  const coordinatorPlacement = {
    ...(Object.keys(c.coordinatorNodeSelector).length ? { nodeSelector: c.coordinatorNodeSelector } : {}),
    ...(c.coordinatorTolerations.length ? { tolerations: c.coordinatorTolerations } : {}),
  };

  const templates: Template[] = [
    {
      name: 'main',
      dag: {
        tasks: [
          { name: 'plan', template: 'plan' },
          {
            name: 'score',
            template: 'score',
            depends: 'plan',
            when: NOT_COMPLETE,
            withSequence: { count: PODS },
            arguments: {
              parameters: [
                { name: 'pod', value: '{{item}}' },
                { name: 'pods', value: PODS },
              ],
            },
          },
          { name: 'merge', template: 'merge', depends: 'score', when: NOT_COMPLETE },
        ],
      },
      // Most score pods at once (plan and merge run alone, before and after).
      parallelism: c.parallelism,
    },
    {
      name: 'plan',
      container: container(
        [
          'plan',
          ...jobArgs,
          '--date',
          DATE,
          `--skip-complete=${SKIP_COMPLETE}`,
          '--complete-file',
          COMPLETE_FILE,
          '--shard-count-file',
          SHARD_COUNT_FILE,
          '--pod-count-file',
          POD_COUNT_FILE,
          '--max-pods',
          String(c.scorePods),
        ],
        coordRes,
        jobMount,
      ),
      outputs: {
        parameters: [
          { name: 'shards', valueFrom: { path: SHARD_COUNT_FILE } },
          { name: 'pods', valueFrom: { path: POD_COUNT_FILE } },
          { name: 'complete', valueFrom: { path: COMPLETE_FILE } },
        ],
      },
      retryStrategy,
      ...coordinatorPlacement,
    },
    {
      name: 'score',
      inputs: { parameters: [{ name: 'pod' }, { name: 'pods' }] },
      // A GPU pod that cannot load CUDA fails (exit 65) rather than score on CPU while its GPU is billed.
      container: container(
        [
          'score',
          ...plan,
          '--pod',
          '{{inputs.parameters.pod}}',
          '--pods',
          '{{inputs.parameters.pods}}',
          ...(gpu ? ['--default-device', 'cuda'] : []),
          // SIGTERM leaves this long: the pod commits the part it holds and exits 75 before it is up.
          '--grace-period',
          String(c.terminationGracePeriodSeconds),
        ],
        workerRes,
        [{ name: 'dshm', mountPath: '/dev/shm' }],
        [],
        image,
      ),
      retryStrategy,
      ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
      ...(tolerations.length ? { tolerations } : {}),
      // Argo templates have no terminationGracePeriodSeconds nor runtimeClassName field; the pod spec patch sets them
      // (keys in name order, as the chart's toJson writes them).
      podSpecPatch: JSON.stringify({
        ...(gpu && c.runtimeClassName ? { runtimeClassName: c.runtimeClassName } : {}),
        terminationGracePeriodSeconds: c.terminationGracePeriodSeconds,
      }),
      ...(c.gpuSemaphore
        ? {
            synchronization: {
              semaphores: [{ configMapKeyRef: { name: c.gpuSemaphore.configMap, key: c.gpuSemaphore.key } }],
            },
          }
        : {}),
    },
    {
      name: 'merge',
      container: container(['merge', ...plan], coordRes),
      retryStrategy,
      ...coordinatorPlacement,
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
      container: container(['record-failure', ...jobArgs, '--date', DATE, ...outcome], coordRes, jobMount),
      retryStrategy,
      ...coordinatorPlacement,
    },
    ...(webhook
      ? [
          {
            name: 'notify',
            container: container(
              ['notify', ...jobArgs, '--date', DATE, ...outcome],
              coordRes,
              jobMount,
              webhook.urlFromEnv && c.webhookSecret
                ? [
                    {
                      name: webhook.urlFromEnv,
                      valueFrom: { secretKeyRef: { name: c.webhookSecret.name, key: c.webhookSecret.key } },
                    },
                  ]
                : [],
            ),
            retryStrategy,
            ...coordinatorPlacement,
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
    podMetadata: { labels: jobLabels(job, 'run') },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS,
      runAsGroup: RUN_AS,
      fsGroup: RUN_AS,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumes: [
      { name: 'scratch', emptyDir: {} },
      ...(opts.jobSource === 'configMap'
        ? [{ name: 'job', configMap: { name: jobConfigMapName(job), items: [{ key: JOB_KEY, path: JOB_KEY }] } }]
        : []),
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
 * imminent node shutdown"), unless it exited first with a code a retry cannot change: 64, 65, 70, and 66 (not
 * complete yet: a merge before every shard committed, which a retry of the merge pod alone does not make complete).
 * A bad spec, model or input fails at once.
 *
 * It compares lastRetry.exitCode as a string, so it cannot fail: Argo v4 sets it to "-1" when the pod has no exit
 * code, but an expression that errors marks the node Error and ends the workflow, and asInt("") would. `||`
 * short-circuits, and lastRetry.message exists since Argo 3.5.
 */
export function retryExpression(): string {
  const codes = (xs: number[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
  const permanent = codes([EXIT.USAGE, EXIT.PERMANENT, EXIT.NOT_COMPLETE, EXIT.INTERNAL]);
  return (
    `lastRetry.exitCode in ${codes([EXIT.RETRYABLE, SIGKILLED])} || ` +
    `(lastRetry.message matches 'pod deleted|imminent node shutdown' && !(lastRetry.exitCode in ${permanent}))`
  );
}

/**
 * The job as a self-contained Workflow's `job` parameter holds it: resolved URIs, no cluster section (pods do not need
 * it).
 */
export function toJobJson(job: ScoringJob): string {
  const { cluster: _cluster, ...spec } = job.spec;
  return JSON.stringify({ ...job, spec });
}

function env(job: ScoringJob, image: string): EnvVar[] {
  const c = job.spec.cluster;
  // Pods log JSON lines for the cluster's log pipeline, and record the image they run in their shard commits.
  // The plan's URI alone names no endpoint: score and merge pods open it with the job's S3 settings from here.
  const storage = Object.entries(storageEnv(job)).map(([name, value]) => ({ name, value }));
  const out: EnvVar[] = [
    { name: 'BATCHSCORE_LOG_FORMAT', value: 'json' },
    { name: IMAGE_ENV, value: image },
    ...storage,
    ...Object.entries(c.env)
      // In name order, as Helm's range over a map gives them: the chart renders the same list.
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
  ];
  if (c.s3Secret) {
    // Credentials only by reference: the rendered YAML never holds a secret.
    out.push(
      {
        name: 'AWS_ACCESS_KEY_ID',
        valueFrom: { secretKeyRef: { name: c.s3Secret.name, key: c.s3Secret.accessKeyIdKey } },
      },
      {
        name: 'AWS_SECRET_ACCESS_KEY',
        valueFrom: { secretKeyRef: { name: c.s3Secret.name, key: c.s3Secret.secretAccessKeyKey } },
      },
    );
  }
  return out;
}

function k8sResources(requests: Record<string, string>, limits: Record<string, string>): ResourceRequirements {
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}
