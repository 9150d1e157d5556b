import {
  describe,
  int,
  list,
  object,
  oneOf,
  optional,
  record,
  str,
  withDefault,
  type Node,
  type Static,
} from './schema/node.js';
import { show } from './schema/show.js';

/**
 * `spec.cluster`: how the Argo Workflow runs the job. Only the renderer reads it; the local run ignores it.
 * Secrets never appear here: S3 credentials come from a Secret by name (secretKeyRef), or from the pod's identity.
 */

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?$/;
const DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Five fields, or a macro; space around it is allowed (Argo trims it). */
const CRON = /^\s*((\S+\s+){4}\S+|@(yearly|annually|monthly|weekly|daily|midnight|hourly))\s*$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Default spec.cluster.scorePods: this many pods per slot of spec.cluster.parallelism. */
export const SCORE_PODS_PER_SLOT = 4;
/**
 * Most spec.cluster.scorePods. Each score pod is a Retry node plus a Pod node per attempt in the Workflow's status,
 * ~650 bytes of JSON each, on ~17 KB for the rest (measured on Argo v4.0.5: bench/workflowSize.ts). Past 1 MiB
 * Argo gzips the node status into status.compressedNodes on every update, and past 1 MiB even so it errors the
 * Workflow (unless node status offloading is set up). 500 pods stay under 1 MiB uncompressed with every pod
 * retried once (~17 KB + 500 × 3 × 650 B ≈ 0.99 MB).
 */
export const MAX_SCORE_PODS = 500;

export const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export const TOLERATION_OPERATORS = ['Exists', 'Equal'] as const;
export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
export const POD_GC_STRATEGIES = [
  'OnPodCompletion',
  'OnPodSuccess',
  'OnWorkflowCompletion',
  'OnWorkflowSuccess',
] as const;

function k8sName(re: RegExp, description?: string): Node<string, 'required'> {
  return str({
    pattern: re,
    maxLength: 253,
    patternMessage: (s) => `${show(s)} is not a valid Kubernetes name`,
    ...(description ? { description } : {}),
  });
}

const quantity = (description?: string) =>
  str({
    coerceNumber: true,
    pattern: QUANTITY,
    rule: 'a Kubernetes quantity such as 500m, 2, 4Gi;',
    ...(description ? { description } : {}),
  });

const duration = (description: string) =>
  str({ pattern: DURATION, rule: 'a duration such as 30s, 5m, 1h;', description });

/** GPUs are asked for through gpusPerWorker, which also sets the toleration and node selector that go with them. */
const quantities = record(quantity(), { json: { propertyNames: { not: { const: 'nvidia.com/gpu' } } } });
const resources = (description: string) =>
  object({ requests: withDefault(quantities, {}), limits: withDefault(quantities, {}) }, { description });

const stringMap = (keyPattern: RegExp, description: string) =>
  record(str({ nonEmpty: false, rule: 'a string' }), { keyPattern, description });

const toleration = object({
  key: optional(str()),
  operator: optional(oneOf(TOLERATION_OPERATORS)),
  value: optional(str()),
  effect: optional(oneOf(TAINT_EFFECTS)),
  tolerationSeconds: optional(int({ min: 0 })),
});

const DAY = 24 * 3600;
/** Default spec.cluster.terminationGracePeriodSeconds: Kubernetes' own default, and the usual spot reclaim notice. */
export const DEFAULT_GRACE_SECONDS = 30;

export const clusterSchema = object(
  {
    image: optional(
      str({ description: "Score pods' image. Unset: the renderer picks the CPU or the GPU worker image." }),
    ),
    coordinatorImage: optional(
      str({
        description:
          'Image of the plan, merge, record-failure and notify pods, which never use a GPU. Unset: the score ' +
          "pods' image in a CPU job, the CPU worker image in a GPU job.",
      }),
    ),
    imagePullPolicy: optional(oneOf(IMAGE_PULL_POLICIES)),
    namespace: optional(
      k8sName(
        DNS_LABEL,
        "Where the Workflow runs; unset: wherever it is created (kubectl's -n, the kubeconfig context's namespace).",
      ),
    ),
    serviceAccount: withDefault(k8sName(DNS_SUBDOMAIN), 'batchscore'),
    gpusPerWorker: withDefault(
      describe(int({ min: 0 }), 'GPUs per score pod; 0 = CPU-only (no GPU request, no GPU toleration).'),
      0,
    ),
    gpuProduct: optional(str({ description: 'nodeSelector nvidia.com/gpu.product, e.g. NVIDIA-A10G.' })),
    runtimeClassName: optional(
      k8sName(DNS_SUBDOMAIN, 'Set through podSpecPatch: Argo templates have no field for it.'),
    ),
    resources: withDefault(resources('Score pods.'), {
      requests: { cpu: '2', memory: '4Gi' },
      limits: { memory: '4Gi' },
    }),
    coordinatorResources: withDefault(resources('Plan, merge and exit-handler pods.'), {
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { memory: '1Gi' },
    }),
    nodeSelector: withDefault(stringMap(LABEL_KEY, 'Node labels score pods need.'), {}),
    tolerations: withDefault(
      describe(list(toleration), "Score pods' tolerations (a GPU job's also tolerate the nvidia.com/gpu taint)."),
      [],
    ),
    coordinatorNodeSelector: withDefault(
      stringMap(LABEL_KEY, 'Node labels the plan, merge, record-failure and notify pods need.'),
      {},
    ),
    coordinatorTolerations: withDefault(
      describe(list(toleration), 'Tolerations of the plan, merge, record-failure and notify pods.'),
      [],
    ),
    parallelism: withDefault(
      int({
        min: 1,
        max: MAX_SCORE_PODS,
        rule: 'an integer ≥ 1',
        maxMessage: (n) =>
          `${n} is more than the ${MAX_SCORE_PODS} score pods a Workflow can have (spec.cluster.scorePods); ` +
          `run more Workflows (backfill --parallel) for more at once`,
        description: 'Most score pods at once.',
      }),
      8,
    ),
    scorePods: withDefault(
      int({
        min: 1,
        max: MAX_SCORE_PODS,
        rule:
          `an integer from 1 to ${MAX_SCORE_PODS} (each pod adds nodes to the Workflow object's ` +
          `status, which Argo keeps under 1 MiB)`,
        description:
          'Most score pods a Workflow has: P = min(shards, scorePods), and pod i scores shards ' +
          'i, i+P, i+2P, … in turn. Argo keeps a status entry per node in the Workflow object, ' +
          'so this, not the shard count, bounds its size. Default: 4 × parallelism, at most ' +
          '500.',
      }),
      (c: { parallelism?: number }) => Math.min(SCORE_PODS_PER_SLOT * (c.parallelism ?? 8), MAX_SCORE_PODS),
    ),
    retries: withDefault(
      object({
        limit: withDefault(int({ min: 0 }), 3),
        backoff: withDefault(
          object({
            duration: withDefault(duration('Wait before the first retry.'), '30s'),
            factor: withDefault(int({ min: 1 }), 2),
            maxDuration: withDefault(duration('Longest wait between retries.'), '10m'),
          }),
          {},
        ),
      }),
      {},
    ),
    activeDeadlineSeconds: withDefault(int({ min: 1 }), DAY),
    terminationGracePeriodSeconds: withDefault(
      int({
        min: 1,
        description:
          'Score pods: seconds from SIGTERM (a spot reclaim, a drain, a deletion) to SIGKILL. A pod stops reading, ' +
          'commits the part it holds and exits 75 within it, so a retry resumes after that part. The default fits ' +
          "the usual 30 s notice (GKE and AKS spot; Kubernetes' own default); AWS gives 120 s.",
      }),
      DEFAULT_GRACE_SECONDS,
    ),
    podGC: withDefault(object({ strategy: withDefault(oneOf(POD_GC_STRATEGIES), 'OnPodSuccess') }), {}),
    ttlStrategy: withDefault(
      object({
        secondsAfterCompletion: optional(int({ min: 0 })),
        secondsAfterSuccess: optional(int({ min: 0 })),
        secondsAfterFailure: optional(int({ min: 0 })),
      }),
      { secondsAfterSuccess: 7 * DAY, secondsAfterFailure: 14 * DAY },
    ),
    s3Secret: optional(
      object(
        {
          name: k8sName(DNS_SUBDOMAIN),
          accessKeyIdKey: withDefault(str(), 'AWS_ACCESS_KEY_ID'),
          secretAccessKeyKey: withDefault(str(), 'AWS_SECRET_ACCESS_KEY'),
        },
        { description: 'The Kubernetes Secret holding S3 credentials; pods get them by reference (secretKeyRef).' },
      ),
    ),
    webhookSecret: optional(
      object(
        { name: k8sName(DNS_SUBDOMAIN), key: withDefault(str(), 'url') },
        {
          description:
            "The Secret key holding the notification webhook's URL (given to the notify pod as " +
            'spec.notify.webhook.urlFromEnv).',
        },
      ),
    ),
    env: withDefault(
      record(str({ nonEmpty: false, rule: 'a string' }), {
        keyPattern: ENV_NAME,
        description: 'Plain (non-secret) environment for every pod, e.g. AWS_REGION.',
        refine: (env, r) => {
          for (const k of Object.keys(env)) {
            if (/SECRET|TOKEN|PASSWORD|ACCESS_KEY/i.test(k))
              r.bad('looks like a secret; reference it through spec.cluster.s3Secret (a Kubernetes Secret) instead', k);
          }
        },
      }),
      {},
    ),
    gpuSemaphore: optional(
      object(
        { configMap: k8sName(DNS_SUBDOMAIN), key: withDefault(str(), 'workers') },
        { description: 'Caps GPU workers across all workflows: a ConfigMap key holding the limit.' },
      ),
    ),
    shmSize: withDefault(quantity('Size of the memory-backed /dev/shm.'), '1Gi'),
    schedule: optional(
      object({
        crons: list(
          str({
            pattern: CRON,
            rule: 'a 5-field cron expression',
            patternMessage: (s) => `${show(s)} is not a 5-field cron expression`,
          }),
          {
            minItems: 1,
            rule: 'a non-empty list of cron expressions such as "0 2 * * *"',
          },
        ),
        timezone: withDefault(
          str({
            then: (tz) =>
              validTimezone(tz)
                ? { value: tz }
                : { error: `${show(tz)} is not an IANA time zone such as Europe/Berlin` },
          }),
          'UTC',
        ),
        dateOffsetDays: withDefault(
          int({
            max: 0,
            rule: '0 or a negative integer (days before the scheduled day)',
            description: 'The date scored, relative to the scheduled day in `timezone`: -1 scores yesterday.',
          }),
          -1,
        ),
        startingDeadlineSeconds: withDefault(int({ min: 0 }), 3600),
        successfulJobsHistoryLimit: withDefault(int({ min: 0 }), 3),
        failedJobsHistoryLimit: withDefault(int({ min: 0 }), 3),
      }),
    ),
  },
  {
    description: 'How the Argo Workflow runs the job; defaults apply when the job file has no cluster section.',
    refine: (c, r) => {
      for (const res of [c.resources, c.coordinatorResources]) {
        if (res && ('nvidia.com/gpu' in (res.requests ?? {}) || 'nvidia.com/gpu' in (res.limits ?? {})))
          r.bad('set GPUs with spec.cluster.gpusPerWorker, not nvidia.com/gpu', 'resources');
      }
      const { parallelism: p, scorePods: s } = c;
      if (p !== undefined && s !== undefined && s < p) {
        r.bad(
          `${s} is less than spec.cluster.parallelism (${p}): at most scorePods score pods ` +
            `exist, so ${p - s} of the parallelism slots would never be used; raise scorePods ` +
            `or lower parallelism`,
          'scorePods',
        );
      }
    },
  },
);

export type ClusterSpec = Static<typeof clusterSchema>;
export type Toleration = Static<typeof toleration>;
export type Resources = ClusterSpec['resources'];

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
