/**
 * The only place batchscore talks to Kubernetes: create, read, list and watch Argo Workflows in one namespace,
 * through @kubernetes/client-node (CustomObjectsApi for requests, Watch for streams). Every failure comes out
 * as a BatchscoreError whose code says whether trying again can help.
 */
import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  Watch,
  createConfiguration,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { BatchscoreError, errorMessage, isTransient, isTransientStatus } from '@batchscore/core';
import { loadKubeconfigList } from './loadKubeconfigList.js';

export const WORKFLOW_GROUP = 'argoproj.io';
export const WORKFLOW_VERSION = 'v1alpha1';
export const WORKFLOW_PLURAL = 'workflows';
const TEMPLATE_PLURAL = 'workflowtemplates';

export function workflowsPath(namespace: string): string {
  return `/apis/${WORKFLOW_GROUP}/${WORKFLOW_VERSION}/namespaces/${encodeURIComponent(namespace)}/${WORKFLOW_PLURAL}`;
}

/**
 * A Kubernetes object as the API server sends it (a Workflow, a WorkflowTemplate, or the Status a watch's ERROR
 * event carries), typed as far as batchscore reads it; what else it holds is passed on as it came (-o yaml|json).
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: object;
  status?: {
    phase?: string;
    progress?: string;
    message?: string;
    finishedAt?: string;
    nodes?: object;
    compressedNodes?: string;
  };
  /** A Status object's HTTP code and message. */
  code?: number;
  message?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;

export interface WatchOptions {
  fieldSelector?: string;
  labelSelector?: string;
  /** Start after this resourceVersion (from a get/list or the last event); omit to get ADDED for what exists. */
  resourceVersion?: string;
  /** Ask the API server to end the stream after this long (it ends it after 5-10 minutes anyway). */
  timeoutSeconds?: number;
}

export interface WorkflowsApi {
  /** The API server URL, for messages. */
  readonly server: string;
  /** `dryRun`: validated and defaulted by the API server, not persisted (`?dryRun=All`). */
  create(namespace: string, obj: KubeObject, opts?: { dryRun?: boolean }): Promise<KubeObject>;
  get(namespace: string, name: string): Promise<KubeObject>;
  list(namespace: string, labelSelector?: string): Promise<KubeObject[]>;
  /** The WorkflowTemplate `name`, or null when the namespace has none of that name. */
  getTemplate(namespace: string, name: string): Promise<KubeObject | null>;
  /**
   * Streams watch events until the server ends the stream, it fails, or abort() is called. onDone runs once
   * when the stream ends by itself: with no argument for a clean close, with a BatchscoreError otherwise; it
   * does not run after abort(). An 'ERROR' event carries a Kubernetes Status (410 Gone: the resourceVersion
   * is too old; get the object again and watch from its resourceVersion).
   */
  watch(
    namespace: string,
    opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
    onDone: (err?: BatchscoreError) => void,
  ): Promise<{ abort(): void }>;
}

export interface LoadKubeConfigOptions {
  /**
   * Path of a kubeconfig file; default: KUBECONFIG (a list of files, merged as kubectl merges it), then
   * ~/.kube/config, then the in-cluster service account.
   */
  kubeconfig?: string;
  /** A context in that kubeconfig; default: its current-context. */
  context?: string;
}

export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): KubeConfig {
  let kc = new KubeConfig();
  const list = process.env.KUBECONFIG;
  try {
    if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
    else if (list) {
      const merged = loadKubeconfigList(list);
      if (merged.files.length === 0) {
        throw new BatchscoreError(
          'USAGE',
          `KUBECONFIG=${list}: none of its files exists (or each is empty); point it at a kubeconfig, or ` +
            'pass --kubeconfig',
        );
      }
      kc = merged.kubeconfig;
    } else kc.loadFromDefault();
  } catch (err) {
    if (err instanceof BatchscoreError) throw err;
    const from = opts.kubeconfig ?? list ?? '~/.kube/config';
    throw new BatchscoreError('USAGE', `cannot load kubeconfig ${from}: ${errorMessage(err)}`, { cause: err });
  }
  if (opts.kubeconfig === undefined && !process.env.KUBECONFIG && isClientNodeFallback(kc)) {
    // loadFromDefault found nothing and made up http://localhost:8080; say so instead of "connection refused".
    throw new BatchscoreError(
      'USAGE',
      'no Kubernetes configuration found: KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod ' +
        'with a service account; pass --kubeconfig or set KUBECONFIG',
    );
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      const have = kc.getContexts().map((c) => c.name);
      throw new BatchscoreError(
        'USAGE',
        `kubeconfig has no context "${opts.context}" (it has: ${have.length > 0 ? have.join(', ') : 'none'})`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  if (kc.getCurrentCluster() === null) {
    throw new BatchscoreError(
      'USAGE',
      `kubeconfig context "${kc.getCurrentContext()}" names no cluster; check current-context ` +
        `and contexts[].context.cluster`,
    );
  }
  return kc;
}

function isClientNodeFallback(kc: KubeConfig): boolean {
  const cluster = kc.getCurrentCluster();
  return cluster !== null && cluster.name === 'cluster' && cluster.server === 'http://localhost:8080';
}

/** The namespace the kubeconfig's current context names, if any (what kubectl would use). */
export function kubeNamespace(kc: KubeConfig): string | undefined {
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return ctx?.namespace || undefined;
}

export interface WorkflowsApiOptions {
  /** Give up on a create/get/list after this long (default 30 s). Watches are not limited by it. */
  requestTimeoutMs?: number;
}

export function workflowsApi(kc: KubeConfig, opts: WorkflowsApiOptions = {}): WorkflowsApi {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new BatchscoreError('USAGE', 'kubeconfig has no current cluster');
  const server = cluster.server;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;

  // What kc.makeApiClient(CustomObjectsApi) builds, plus a middleware that gives each request a deadline
  // (client-node sets none, so a dead connection would otherwise hang forever).
  const custom = new CustomObjectsApi(
    createConfiguration({
      baseServer: new ServerConfiguration<Record<string, never>>(server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [
        {
          pre: async (ctx: RequestContext) => {
            ctx.setSignal(AbortSignal.timeout(timeoutMs));
            return ctx;
          },
          post: async (res: ResponseContext) => res,
        },
      ],
    }),
  );
  const watcher = new Watch(kc);
  const base = { group: WORKFLOW_GROUP, version: WORKFLOW_VERSION, plural: WORKFLOW_PLURAL };

  const fail = (err: unknown, what: Omit<KubeErrorContext, 'server' | 'timeoutMs'>): never => {
    throw mapKubeError(err, { ...what, server, timeoutMs });
  };

  return {
    server,
    async create(namespace, obj, copts = {}) {
      const name = workflowLabel(obj);
      try {
        return (await custom.createNamespacedCustomObject({
          ...base,
          namespace,
          body: obj,
          ...(copts.dryRun ? { dryRun: 'All' } : {}),
        })) as KubeObject;
      } catch (err) {
        return fail(err, { verb: 'create', namespace, name });
      }
    },
    async get(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({ ...base, namespace, name })) as KubeObject;
      } catch (err) {
        return fail(err, { verb: 'get', namespace, name });
      }
    },
    async getTemplate(namespace, name) {
      try {
        return (await custom.getNamespacedCustomObject({
          ...base,
          plural: TEMPLATE_PLURAL,
          namespace,
          name,
        })) as KubeObject;
      } catch (err) {
        if (isObjectMissing(err)) return null;
        throw mapKubeError(err, { verb: 'get', namespace, name, kind: 'workflowtemplate', server, timeoutMs });
      }
    },
    async list(namespace, labelSelector) {
      try {
        const res = (await custom.listNamespacedCustomObject({ ...base, namespace, labelSelector })) as {
          items?: KubeObject[];
        };
        return res.items ?? [];
      } catch (err) {
        return fail(err, { verb: 'list', namespace });
      }
    },
    async watch(namespace, wopts, onEvent, onDone) {
      const name = wopts.fieldSelector?.match(/(?:^|,)metadata\.name=([^,]+)/)?.[1];
      let aborted = false;
      let controller: AbortController | undefined;
      try {
        controller = await watcher.watch(
          workflowsPath(namespace),
          {
            fieldSelector: wopts.fieldSelector,
            labelSelector: wopts.labelSelector,
            resourceVersion: wopts.resourceVersion,
            timeoutSeconds: wopts.timeoutSeconds,
            allowWatchBookmarks: true,
          },
          (type, obj) => {
            if (!aborted) onEvent(type, obj as KubeObject);
          },
          (err) => {
            if (aborted) return;
            aborted = true;
            if (err === null || err === undefined) onDone();
            else onDone(mapKubeError(err, { verb: 'watch', namespace, name, server, timeoutMs }));
          },
        );
      } catch (err) {
        // Watch throws only before it sends anything (no current cluster).
        fail(err, { verb: 'watch', namespace, name });
      }
      return {
        abort() {
          aborted = true;
          controller?.abort();
        },
      };
    },
  };
}

function workflowLabel(obj: KubeObject): string | undefined {
  const meta = obj.metadata ?? {};
  if (meta.name) return meta.name;
  if (meta.generateName) return `${meta.generateName}*`;
  return undefined;
}

export interface KubeErrorContext {
  verb: 'create' | 'get' | 'list' | 'watch' | 'patch';
  namespace: string;
  /** The workflow name (or generateName + '*'), when the request is about one. */
  name?: string;
  /** What the request is about: a workflow (the default), a workflowtemplate or a cronworkflow. */
  kind?: 'workflow' | 'workflowtemplate' | 'cronworkflow';
  server: string;
  timeoutMs?: number;
}

/** HTTP status of an error from client-node: ApiException.code, or statusCode from Watch. */
function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  if (e && typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The message of the Kubernetes Status object in an error body, if there is one. */
function statusMessage(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  let body: unknown = err.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim().slice(0, 300) || undefined;
    }
  }
  const msg = (body as { message?: unknown } | null)?.message;
  return typeof msg === 'string' && msg !== '' ? msg : undefined;
}

/**
 * A 404 for a missing object, not for a missing resource type: the API server says `workflows.argoproj.io "x" not
 * found` for the one, and "the server could not find the requested resource" when the CRD is not there.
 */
function isObjectMissing(err: unknown): boolean {
  const detail = statusMessage(err);
  return httpStatus(err) === 404 && detail !== undefined && /" not found/.test(detail);
}

/** Turns whatever client-node threw into a BatchscoreError naming the server, namespace and workflow. */
export function mapKubeError(err: unknown, c: KubeErrorContext): BatchscoreError {
  if (err instanceof BatchscoreError) return err;
  const kind = c.kind ?? 'workflow';
  const what =
    c.name === undefined
      ? `${kind}s in namespace "${c.namespace}"`
      : `${kind} "${c.name}" in namespace "${c.namespace}"`;
  const at = `at ${c.server}`;
  const status = httpStatus(err);
  const detail = statusMessage(err);
  const says = detail === undefined ? '' : `: ${detail}`;
  if (status !== undefined) {
    if (status === 409) {
      return new BatchscoreError('KUBE_CONFLICT', `cannot ${c.verb} ${what} ${at}: it already exists (409)${says}`, {
        cause: err,
      });
    }
    if (status === 404) {
      const hint =
        c.verb === 'get' && isObjectMissing(err)
          ? 'it does not exist (deleted, or never created)'
          : `the namespace may not exist, or the Argo Workflows CRDs (workflows.argoproj.io) ` +
            `may not be installed in this cluster`;
      return new BatchscoreError('KUBE_NOT_FOUND', `cannot ${c.verb} ${what} ${at}: not found (404); ${hint}${says}`, {
        cause: err,
      });
    }
    if (status === 401 || status === 403) {
      const why = status === 401 ? 'the credentials were rejected (401)' : 'access denied (403)';
      return new BatchscoreError(
        'KUBE_DENIED',
        `cannot ${c.verb} ${kind}s.argoproj.io in namespace "${c.namespace}"` +
          `${c.name === undefined ? '' : ` (${kind} "${c.name}")`} ${at}: ${why}${says}; ` +
          (status === 401
            ? 'check the kubeconfig user (token or certificate may have expired)'
            : `check RBAC: the user or service account needs "${c.verb}" on ${kind}s.argoproj.io in "${c.namespace}"`),
        { cause: err },
      );
    }
    if (status === 400 || status === 422) {
      return new BatchscoreError('KUBE_REJECTED', `the API server ${at} rejected ${what} (${status})${says}`, {
        cause: err,
      });
    }
    if (isTransientStatus(status)) {
      return new BatchscoreError(
        'KUBE_UNAVAILABLE',
        `cannot ${c.verb} ${what} ${at}: the API server answered ${status}${says}; try again`,
        { cause: err },
      );
    }
    return new BatchscoreError('KUBE_REJECTED', `cannot ${c.verb} ${what} ${at}: unexpected HTTP ${status}${says}`, {
      cause: err,
    });
  }
  const e = err as { name?: unknown; type?: unknown; code?: unknown } | null;
  if (e && (e.name === 'AbortError' || e.type === 'aborted' || e.name === 'TimeoutError')) {
    return new BatchscoreError(
      'KUBE_UNAVAILABLE',
      `cannot ${c.verb} ${what} ${at}: no answer within ${c.timeoutMs ?? '?'} ms; try again`,
      { cause: err },
    );
  }
  if (/HTTP protocol is not allowed/.test(errorMessage(err))) {
    return new BatchscoreError(
      'USAGE',
      `cannot ${c.verb} ${what} ${at}: @kubernetes/client-node only talks plain HTTP to ` +
        `an API server whose kubeconfig ` +
        'cluster entry sets insecure-skip-tls-verify: true (as for kubectl proxy); use the https URL otherwise',
      { cause: err },
    );
  }
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code !== undefined && /CERT|SELF_SIGNED|ERR_TLS|ERR_SSL|UNABLE_TO_VERIFY/.test(code)) {
    return new BatchscoreError(
      'KUBE_DENIED',
      `cannot ${c.verb} ${what} ${at}: TLS verification failed (${code}); check the cluster's ` +
        `certificate-authority in the kubeconfig`,
      { cause: err },
    );
  }
  if (isTransient(err) || e?.type === 'system' || e?.type === 'request-timeout') {
    return new BatchscoreError(
      'KUBE_UNAVAILABLE',
      `cannot ${c.verb} ${what} ${at}: ${code ?? 'network error'} (${errorMessage(err)}); try again`,
      { cause: err },
    );
  }
  return new BatchscoreError('INTERNAL', `cannot ${c.verb} ${what} ${at}: ${errorMessage(err)}`, { cause: err });
}
