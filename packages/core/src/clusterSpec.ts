/**
 * `spec.cluster`: how the Argo Workflow runs the job. Only the renderer reads it; the local run ignores it.
 * Secrets never appear here: S3 credentials come from a Secret by name (secretKeyRef), or from the pod's identity.
 */
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}
export interface Resources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}
export interface ClusterSpec {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Where the Workflow runs; unset: wherever it is created (kubectl's -n, the kubeconfig context's namespace). */
  namespace?: string;
  serviceAccount: string;
  /** GPUs per score pod; 0 = CPU-only (no GPU request, no GPU toleration). */
  gpusPerWorker: number;
  /** nodeSelector `nvidia.com/gpu.product`, e.g. NVIDIA-A10G. */
  gpuProduct?: string;
  /** Set through podSpecPatch: Argo templates have no field for it. */
  runtimeClassName?: string;
  /** Score pods. */
  resources: Resources;
  /** Plan, merge and exit-handler pods. */
  coordinatorResources: Resources;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  /** Most score pods at once. */
  parallelism: number;
  /**
   * Most score pods a Workflow has: P = min(shards, scorePods), and pod i scores shards i, i+P, i+2P, … in turn.
   * Argo keeps a status entry per node in the Workflow object, so this, not the shard count, bounds its size.
   */
  scorePods: number;
  retries: { limit: number; backoff: { duration: string; factor: number; maxDuration: string } };
  activeDeadlineSeconds: number;
  podGC: { strategy: 'OnPodCompletion' | 'OnPodSuccess' | 'OnWorkflowCompletion' | 'OnWorkflowSuccess' };
  ttlStrategy: { secondsAfterCompletion?: number; secondsAfterSuccess?: number; secondsAfterFailure?: number };
  s3Secret?: { name: string; accessKeyIdKey: string; secretAccessKeyKey: string };
  /** The Secret key holding the notification webhook's URL (given to the notify pod as spec.notify.webhook.urlFromEnv). */
  webhookSecret?: { name: string; key: string };
  /** Plain (non-secret) environment for every pod, e.g. AWS_REGION. */
  env: Record<string, string>;
  /** Caps GPU workers across all workflows: a ConfigMap key holding the limit. */
  gpuSemaphore?: { configMap: string; key: string };
  /** Size of the memory-backed /dev/shm. */
  shmSize: string;
  schedule?: {
    crons: string[];
    timezone: string;
    /** The date scored, relative to the scheduled day in `timezone`: -1 scores yesterday. */
    dateOffsetDays: number;
    startingDeadlineSeconds: number;
    successfulJobsHistoryLimit: number;
    failedJobsHistoryLimit: number;
  };
}

type Bad = (path: string, message: string) => void;
type Obj = Record<string, unknown>;

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?$/;
const DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const CRON_FIELD = /^(\S+\s+){4}\S+$|^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;

export const DEFAULT_IMAGE = 'ghcr.io/batchscore/batchscore-worker:0.1.0';

export function toClusterSpec(raw: unknown, bad: Bad): ClusterSpec {
  const p = 'spec.cluster';
  const o = (raw === undefined ? {} : raw) as Obj;
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    bad(p, `expected a mapping, got ${JSON.stringify(raw)}`);
    return toClusterSpec(undefined, () => {});
  }
  known(o, p, [
    'image', 'imagePullPolicy', 'namespace', 'serviceAccount', 'gpusPerWorker', 'gpuProduct', 'runtimeClassName', 'resources',
    'coordinatorResources', 'nodeSelector', 'tolerations', 'parallelism', 'scorePods', 'retries', 'activeDeadlineSeconds', 'podGC', 'ttlStrategy',
    's3Secret', 'webhookSecret', 'env', 'gpuSemaphore', 'shmSize', 'schedule',
  ], bad);
  const image = optStr(o.image, `${p}.image`, bad) ?? DEFAULT_IMAGE;
  const imagePullPolicy = oneOf(o.imagePullPolicy, `${p}.imagePullPolicy`, ['Always', 'IfNotPresent', 'Never'] as const, bad);
  const namespace = name(o.namespace, `${p}.namespace`, DNS_LABEL, bad);
  const serviceAccount = name(o.serviceAccount, `${p}.serviceAccount`, DNS_SUBDOMAIN, bad) ?? 'batchscore';
  const gpusPerWorker = int(o.gpusPerWorker, `${p}.gpusPerWorker`, 0, 0, bad);
  const gpuProduct = optStr(o.gpuProduct, `${p}.gpuProduct`, bad);
  const runtimeClassName = name(o.runtimeClassName, `${p}.runtimeClassName`, DNS_SUBDOMAIN, bad);
  const resources = res(o.resources, `${p}.resources`, { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '4Gi' } }, bad);
  const coordinatorResources = res(o.coordinatorResources, `${p}.coordinatorResources`, { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } }, bad);
  for (const r of [resources, coordinatorResources]) {
    if ('nvidia.com/gpu' in r.requests || 'nvidia.com/gpu' in r.limits) bad(`${p}.resources`, 'set GPUs with spec.cluster.gpusPerWorker, not nvidia.com/gpu');
  }
  const nodeSelector = strMap(o.nodeSelector, `${p}.nodeSelector`, LABEL_KEY, bad);
  const tolerations = tols(o.tolerations, `${p}.tolerations`, bad);
  const parallelism = int(o.parallelism, `${p}.parallelism`, 8, 1, bad);
  if (parallelism > MAX_SCORE_PODS) bad(`${p}.parallelism`, `${parallelism} is more than the ${MAX_SCORE_PODS} score pods a Workflow can have (spec.cluster.scorePods); run more Workflows (backfill --parallel) for more at once`);
  const scorePods = podCap(o.scorePods, p, parallelism, bad);
  const retries = retry(o.retries, `${p}.retries`, bad);
  const activeDeadlineSeconds = int(o.activeDeadlineSeconds, `${p}.activeDeadlineSeconds`, 24 * 3600, 1, bad);
  const podGC = { strategy: oneOf(obj(o.podGC, `${p}.podGC`, bad)?.strategy, `${p}.podGC.strategy`, ['OnPodCompletion', 'OnPodSuccess', 'OnWorkflowCompletion', 'OnWorkflowSuccess'] as const, bad) ?? 'OnPodSuccess' };
  const ttlStrategy = ttl(o.ttlStrategy, `${p}.ttlStrategy`, bad);
  const s3Secret = secret(o.s3Secret, `${p}.s3Secret`, bad);
  const webhookSecret = o.webhookSecret === undefined ? undefined : secretKey(o.webhookSecret, `${p}.webhookSecret`, bad);
  const env = strMap(o.env, `${p}.env`, /^[A-Za-z_][A-Za-z0-9_]*$/, bad);
  for (const k of Object.keys(env)) {
    if (/SECRET|TOKEN|PASSWORD|ACCESS_KEY/i.test(k)) bad(`${p}.env.${k}`, 'looks like a secret; reference it through spec.cluster.s3Secret (a Kubernetes Secret) instead');
  }
  const gpuSemaphore = sem(o.gpuSemaphore, `${p}.gpuSemaphore`, bad);
  const shmSize = quantity(o.shmSize, `${p}.shmSize`, bad) ?? '1Gi';
  const schedule = sched(o.schedule, `${p}.schedule`, bad);
  return {
    image, ...(imagePullPolicy ? { imagePullPolicy } : {}), ...(namespace ? { namespace } : {}), serviceAccount, gpusPerWorker,
    ...(gpuProduct ? { gpuProduct } : {}), ...(runtimeClassName ? { runtimeClassName } : {}),
    resources, coordinatorResources, nodeSelector, tolerations, parallelism, scorePods, retries, activeDeadlineSeconds, podGC, ttlStrategy,
    ...(s3Secret ? { s3Secret } : {}), ...(webhookSecret ? { webhookSecret } : {}), env, ...(gpuSemaphore ? { gpuSemaphore } : {}), shmSize, ...(schedule ? { schedule } : {}),
  };
}

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

function podCap(v: unknown, p: string, parallelism: number, bad: Bad): number {
  const dflt = Math.min(SCORE_PODS_PER_SLOT * parallelism, MAX_SCORE_PODS);
  if (v === undefined) return dflt;
  const f = `${p}.scorePods`;
  if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > MAX_SCORE_PODS) {
    bad(f, `expected an integer from 1 to ${MAX_SCORE_PODS} (each pod adds nodes to the Workflow object's status, which Argo keeps under 1 MiB), got ${JSON.stringify(v)}`);
    return dflt;
  }
  if ((v as number) < parallelism && parallelism <= MAX_SCORE_PODS) {
    bad(f, `${v} is less than spec.cluster.parallelism (${parallelism}): at most scorePods score pods exist, so ${parallelism - (v as number)} of the parallelism slots would never be used; raise scorePods or lower parallelism`);
    return dflt;
  }
  return v as number;
}

function known(o: Obj, p: string, keys: string[], bad: Bad) {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${p}.${k}`, `unknown field (expected one of ${keys.join(', ')})`);
}
function obj(v: unknown, p: string, bad: Bad): Obj | undefined {
  if (v === undefined) return undefined;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  bad(p, `expected a mapping, got ${JSON.stringify(v)}`);
  return undefined;
}
function optStr(v: unknown, p: string, bad: Bad): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && v.trim() !== '') return v;
  bad(p, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return undefined;
}
function name(v: unknown, p: string, re: RegExp, bad: Bad): string | undefined {
  const s = optStr(v, p, bad);
  if (s !== undefined && (!re.test(s) || s.length > 253)) {
    bad(p, `${JSON.stringify(s)} is not a valid Kubernetes name`);
    return undefined;
  }
  return s;
}
function oneOf<T extends string>(v: unknown, p: string, allowed: readonly T[], bad: Bad): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  bad(p, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return undefined;
}
function int(v: unknown, p: string, dflt: number, min: number, bad: Bad): number {
  if (v === undefined) return dflt;
  if (Number.isSafeInteger(v) && (v as number) >= min) return v as number;
  bad(p, `expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return dflt;
}
function quantity(v: unknown, p: string, bad: Bad): string | undefined {
  if (v === undefined) return undefined;
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s === 'string' && QUANTITY.test(s)) return s;
  bad(p, `expected a Kubernetes quantity such as 500m, 2, 4Gi; got ${JSON.stringify(v)}`);
  return undefined;
}
function duration(v: unknown, p: string, dflt: string, bad: Bad): string {
  if (v === undefined) return dflt;
  if (typeof v === 'string' && DURATION.test(v)) return v;
  bad(p, `expected a duration such as 30s, 5m, 1h; got ${JSON.stringify(v)}`);
  return dflt;
}
function strMap(v: unknown, p: string, keyRe: RegExp, bad: Bad): Record<string, string> {
  const o = obj(v, p, bad) ?? {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) {
    if (!keyRe.test(k)) bad(`${p}.${k}`, 'is not a valid key');
    else if (typeof x !== 'string') bad(`${p}.${k}`, `expected a string, got ${JSON.stringify(x)}`);
    else out[k] = x;
  }
  return out;
}
function res(v: unknown, p: string, dflt: Resources, bad: Bad): Resources {
  const o = obj(v, p, bad);
  if (!o) return dflt;
  known(o, p, ['requests', 'limits'], bad);
  const side = (x: unknown, q: string) => {
    const m = obj(x, q, bad) ?? {};
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(m)) {
      const s = quantity(val, `${q}.${k}`, bad);
      if (s) out[k] = s;
    }
    return out;
  };
  return { requests: side(o.requests, `${p}.requests`), limits: side(o.limits, `${p}.limits`) };
}
function tols(v: unknown, p: string, bad: Bad): Toleration[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    bad(p, `expected a list, got ${JSON.stringify(v)}`);
    return [];
  }
  return v.flatMap((t, i) => {
    const q = `${p}[${i}]`;
    const o = obj(t, q, bad);
    if (!o) return [];
    known(o, q, ['key', 'operator', 'value', 'effect', 'tolerationSeconds'], bad);
    const out: Toleration = {};
    const key = optStr(o.key, `${q}.key`, bad);
    if (key) out.key = key;
    const op = oneOf(o.operator, `${q}.operator`, ['Exists', 'Equal'] as const, bad);
    if (op) out.operator = op;
    const value = o.value === undefined ? undefined : optStr(o.value, `${q}.value`, bad);
    if (value) out.value = value;
    const effect = oneOf(o.effect, `${q}.effect`, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const, bad);
    if (effect) out.effect = effect;
    if (o.tolerationSeconds !== undefined) out.tolerationSeconds = int(o.tolerationSeconds, `${q}.tolerationSeconds`, 0, 0, bad);
    return [out];
  });
}
function retry(v: unknown, p: string, bad: Bad): ClusterSpec['retries'] {
  const o = obj(v, p, bad) ?? {};
  known(o, p, ['limit', 'backoff'], bad);
  const b = obj(o.backoff, `${p}.backoff`, bad) ?? {};
  known(b, `${p}.backoff`, ['duration', 'factor', 'maxDuration'], bad);
  return {
    limit: int(o.limit, `${p}.limit`, 3, 0, bad),
    backoff: {
      duration: duration(b.duration, `${p}.backoff.duration`, '30s', bad),
      factor: int(b.factor, `${p}.backoff.factor`, 2, 1, bad),
      maxDuration: duration(b.maxDuration, `${p}.backoff.maxDuration`, '10m', bad),
    },
  };
}
function ttl(v: unknown, p: string, bad: Bad): ClusterSpec['ttlStrategy'] {
  const o = obj(v, p, bad);
  if (!o) return { secondsAfterSuccess: 7 * 24 * 3600, secondsAfterFailure: 14 * 24 * 3600 };
  known(o, p, ['secondsAfterCompletion', 'secondsAfterSuccess', 'secondsAfterFailure'], bad);
  const out: ClusterSpec['ttlStrategy'] = {};
  for (const k of ['secondsAfterCompletion', 'secondsAfterSuccess', 'secondsAfterFailure'] as const) {
    if (o[k] !== undefined) out[k] = int(o[k], `${p}.${k}`, 0, 0, bad);
  }
  return out;
}
function secret(v: unknown, p: string, bad: Bad): ClusterSpec['s3Secret'] {
  const o = obj(v, p, bad);
  if (!o) return undefined;
  known(o, p, ['name', 'accessKeyIdKey', 'secretAccessKeyKey'], bad);
  const n = name(o.name, `${p}.name`, DNS_SUBDOMAIN, bad);
  if (!n) {
    if (o.name === undefined) bad(`${p}.name`, 'is required');
    return undefined;
  }
  return {
    name: n,
    accessKeyIdKey: optStr(o.accessKeyIdKey, `${p}.accessKeyIdKey`, bad) ?? 'AWS_ACCESS_KEY_ID',
    secretAccessKeyKey: optStr(o.secretAccessKeyKey, `${p}.secretAccessKeyKey`, bad) ?? 'AWS_SECRET_ACCESS_KEY',
  };
}
function secretKey(v: unknown, p: string, bad: Bad): ClusterSpec['webhookSecret'] {
  const o = obj(v, p, bad);
  if (!o) return undefined;
  known(o, p, ['name', 'key'], bad);
  const n = name(o.name, `${p}.name`, DNS_SUBDOMAIN, bad);
  if (n === undefined && o.name === undefined) bad(`${p}.name`, 'is required');
  const key = optStr(o.key, `${p}.key`, bad) ?? 'url';
  return n === undefined ? undefined : { name: n, key };
}
function sem(v: unknown, p: string, bad: Bad): ClusterSpec['gpuSemaphore'] {
  const o = obj(v, p, bad);
  if (!o) return undefined;
  known(o, p, ['configMap', 'key'], bad);
  const cm = name(o.configMap, `${p}.configMap`, DNS_SUBDOMAIN, bad);
  if (!cm && o.configMap === undefined) bad(`${p}.configMap`, 'is required');
  const key = optStr(o.key, `${p}.key`, bad) ?? 'workers';
  return cm ? { configMap: cm, key } : undefined;
}
function sched(v: unknown, p: string, bad: Bad): ClusterSpec['schedule'] {
  const o = obj(v, p, bad);
  if (!o) return undefined;
  known(o, p, ['crons', 'timezone', 'dateOffsetDays', 'startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'], bad);
  const crons = Array.isArray(o.crons) ? o.crons : [];
  if (crons.length === 0) bad(`${p}.crons`, `expected a non-empty list of cron expressions such as "0 2 * * *", got ${JSON.stringify(o.crons)}`);
  crons.forEach((c, i) => {
    if (typeof c !== 'string' || !CRON_FIELD.test(c.trim())) bad(`${p}.crons[${i}]`, `${JSON.stringify(c)} is not a 5-field cron expression`);
  });
  const timezone = optStr(o.timezone, `${p}.timezone`, bad) ?? 'UTC';
  if (!validTimezone(timezone)) bad(`${p}.timezone`, `${JSON.stringify(timezone)} is not an IANA time zone such as Europe/Berlin`);
  let dateOffsetDays = -1;
  if (o.dateOffsetDays !== undefined) {
    if (Number.isSafeInteger(o.dateOffsetDays) && (o.dateOffsetDays as number) <= 0) dateOffsetDays = o.dateOffsetDays as number;
    else bad(`${p}.dateOffsetDays`, `expected 0 or a negative integer (days before the scheduled day), got ${JSON.stringify(o.dateOffsetDays)}`);
  }
  return {
    crons: crons.filter((c): c is string => typeof c === 'string'),
    timezone,
    dateOffsetDays,
    startingDeadlineSeconds: int(o.startingDeadlineSeconds, `${p}.startingDeadlineSeconds`, 3600, 0, bad),
    successfulJobsHistoryLimit: int(o.successfulJobsHistoryLimit, `${p}.successfulJobsHistoryLimit`, 3, 0, bad),
    failedJobsHistoryLimit: int(o.failedJobsHistoryLimit, `${p}.failedJobsHistoryLimit`, 3, 0, bad),
  };
}
function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
