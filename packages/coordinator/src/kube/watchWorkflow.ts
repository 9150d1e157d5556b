/**
 * Following one Argo Workflow to its end: a get, then a watch on just that object (fieldSelector
 * metadata.name=NAME) from the resourceVersion the get returned, reopened whenever the stream ends before the
 * workflow does, plus an occasional plain get as a safety net for a stream that stalls without closing.
 */
import { gunzipSync } from 'node:zlib';
import { BatchscoreError, errorMessage } from '@batchscore/core';
import type { KubeObject, WatchEventType, WorkflowsApi } from './kubeClient.js';

export type WorkflowPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Error' | (string & {});

export interface WorkflowStatus {
  name: string;
  /** status.phase; 'Pending' until the Argo controller has picked the workflow up and set one. */
  phase: WorkflowPhase;
  /** Argo's status.progress, "done/total" over all pods of the workflow (not only the scoring shards). */
  progress?: string;
  message?: string;
  /**
   * Scoring shards done: distinct score nodes with a Succeeded pod, each counted for the shards of its stride
   * when the plan task wrote a `pods` output (pod i of P scores shards i, i+P, …).
   */
  shardsDone: number;
  /**
   * Scoring shards: the `shards` output parameter of the plan task once it has one (the rendered workflow
   * fans out `withSequence: {count: tasks.plan.outputs.parameters.shards}`), or the workflow's
   * `batchscore.dev/shards` annotation; else the distinct shards Argo has created nodes for so far (a lower
   * bound while Argo is still expanding the fan-out, which it does gradually under a parallelism limit);
   * null while none of these is known.
   */
  shardsTotal: number | null;
  /** Where the scoring shards' pods ran or run: the Nodes the scheduler bound them to (hostNodeName), sorted. */
  scoreNodes: string[];
  finishedAt?: string;
}

export const FINAL_PHASES: readonly string[] = ['Succeeded', 'Failed', 'Error'];
export function isFinalPhase(phase: string | undefined): boolean {
  return phase !== undefined && FINAL_PHASES.includes(phase);
}

/** The template whose pods are the scoring shards. */
export const SCORE_TEMPLATE = 'score';
/** The template whose output parameter `shards` is the number of scoring shards. */
export const PLAN_TEMPLATE = 'plan';
export const SHARDS_OUTPUT = 'shards';
/** The plan task's output parameter with the number of score pods the shards are strided over. */
export const PODS_OUTPUT = 'pods';
/** Optional annotation on the Workflow with the planned number of shards, should a renderer know it up front. */
export const SHARDS_ANNOTATION = 'batchscore.dev/shards';

/** A node of a Workflow's status, as far as batchscore reads it. */
export interface ArgoNode {
  id?: string;
  name?: string;
  displayName?: string;
  type?: string;
  templateName?: string;
  phase?: string;
  children?: string[];
  hostNodeName?: string;
  outputs?: { parameters?: { name?: string; value?: string }[] };
}

/** The plan task's `shards` output, from its Pod node (or its Retry node, which Argo gives the same outputs). */
export function plannedShards(
  nodes: Record<string, ArgoNode> | undefined,
  template: string = PLAN_TEMPLATE,
  output: string = SHARDS_OUTPUT,
): number | undefined {
  if (!nodes) return undefined;
  for (const n of Object.values(nodes)) {
    if (n.templateName !== template || n.phase !== 'Succeeded') continue;
    const v = n.outputs?.parameters?.find((p) => p.name === output)?.value;
    const count = v === undefined || !/^\d+$/.test(v.trim()) ? NaN : Number(v);
    if (Number.isSafeInteger(count)) return count;
  }
  return undefined;
}

/** status.nodes, or status.compressedNodes (base64 of gzipped JSON; Argo uses it for large workflows). */
function workflowNodes(status: KubeObject['status']): Record<string, ArgoNode> | undefined {
  if (!status) return undefined;
  if (status.nodes && typeof status.nodes === 'object') return status.nodes as Record<string, ArgoNode>;
  if (typeof status.compressedNodes === 'string' && status.compressedNodes !== '') {
    try {
      return JSON.parse(gunzipSync(Buffer.from(status.compressedNodes, 'base64')).toString('utf8'));
    } catch {
      return undefined;
    }
  }
  // Nodes offloaded to Argo's database (status.offloadNodeStatusVersion) cannot be read from the API server.
  return undefined;
}

/**
 * Scoring shards in an Argo node map, counted once each however many times they were retried.
 *
 * How Argo names the nodes (workflow/controller/operator.go and steps.go): a step or task expanded by
 * withSequence/withItems/withParam becomes one node per item named `<step>(<index>:<item>)`, e.g.
 * `score(3:3)`; the node's displayName is its name without the enclosing steps/DAG prefix. With a
 * retryStrategy that node is of type 'Retry' and each attempt is a child Pod node named `<parent>(<n>)`,
 * e.g. `score(3:3)(0)`, `score(3:3)(1)`; without one, the expanded node is the Pod itself. So a shard is:
 * a 'Retry' node of the score template, or a score Pod node whose parent (found through `children`) is not a
 * Retry node. Pods under a Retry node belong to it. When no node lists children at all, an attempt suffix
 * `(n)` is stripped from the name instead. A shard is done when its Retry node or any of its pods Succeeded.
 */
export function countShards(
  nodes: Record<string, ArgoNode> | undefined,
  template: string = SCORE_TEMPLATE,
): { done: number; total: number; doneItems: number[] } {
  if (!nodes) return { done: 0, total: 0, doneItems: [] };
  const entries = Object.entries(nodes);
  const parentOf = new Map<string, string>();
  for (const [id, n] of entries) for (const child of n.children ?? []) parentOf.set(child, id);
  const haveStructure = parentOf.size > 0;
  const shards = new Map<string, boolean>();
  for (const [id, n] of entries) {
    if (n.templateName !== template || (n.type !== 'Pod' && n.type !== 'Retry')) continue;
    let key: string;
    if (n.type === 'Retry') {
      key = n.name ?? id;
    } else if (haveStructure) {
      const parentId = parentOf.get(n.id ?? id) ?? parentOf.get(id);
      const parent = parentId === undefined ? undefined : nodes[parentId];
      key = parent?.type === 'Retry' ? (parent.name ?? parentId!) : (n.name ?? id);
    } else {
      key = stripAttempt(n.name ?? n.displayName ?? id);
    }
    shards.set(key, (shards.get(key) ?? false) || n.phase === 'Succeeded');
  }
  let done = 0;
  const doneItems: number[] = [];
  for (const [key, ok] of shards) {
    if (!ok) continue;
    done++;
    const item = /\((\d+):\d+\)$/.exec(key)?.[1];
    if (item !== undefined) doneItems.push(Number(item));
  }
  return { done, total: shards.size, doneItems };
}

/**
 * Shards done when the score pods are strided (the plan's `pods` output P of `shards` N): pod i scores shards i,
 * i+P, … (⌊(N-1-i)/P⌋+1 of them), all committed once its node Succeeded. Undefined when a done pod's item is not
 * known from its node name.
 */
function stridedShardsDone(doneItems: number[], done: number, shards: number, pods: number): number | undefined {
  if (doneItems.length !== done || pods < 1) return undefined;
  let sum = 0;
  for (const i of doneItems) if (i < shards) sum += Math.floor((shards - 1 - i) / pods) + 1;
  return sum;
}

/** `score(3:3)(1)` → `score(3:3)`, `score(1)` → `score`; `score(3:3)` is left alone (an item, not an attempt). */
function stripAttempt(name: string): string {
  const m = /^(.*)\(\d+\)$/.exec(name);
  return m && m[1] !== '' ? m[1]! : name;
}

/** The summary batchscore reports for a Workflow object as the API server returns it. */
export function workflowStatus(
  obj: KubeObject,
  template: string = SCORE_TEMPLATE,
  planTemplate: string = PLAN_TEMPLATE,
): WorkflowStatus {
  const status = obj.status ?? {};
  const nodes = workflowNodes(status);
  const { done: podsDone, total, doneItems } = countShards(nodes, template);
  const annotated = String(obj.metadata?.annotations?.[SHARDS_ANNOTATION] ?? '');
  const planned = plannedShards(nodes, planTemplate) ?? (/^\d+$/.test(annotated) ? Number(annotated) : undefined);
  const pods = plannedShards(nodes, planTemplate, PODS_OUTPUT);
  // With strides (a plan that wrote `pods`), a score node is a pod of several shards; before, one shard.
  const done =
    (planned !== undefined && pods !== undefined ? stridedShardsDone(doneItems, podsDone, planned, pods) : undefined) ??
    podsDone;
  const shardsTotal = planned !== undefined ? Math.max(planned, total) : total > 0 ? total : null;
  const out: WorkflowStatus = {
    name: String(obj.metadata?.name ?? ''),
    phase: typeof status.phase === 'string' && status.phase !== '' ? status.phase : 'Pending',
    shardsDone: done,
    shardsTotal,
    scoreNodes: [
      ...new Set(
        Object.values(nodes ?? {}).flatMap((n) =>
          n.templateName === template && n.type === 'Pod' && n.hostNodeName ? [n.hostNodeName] : [],
        ),
      ),
    ].sort(),
  };
  if (typeof status.progress === 'string' && status.progress !== '') out.progress = status.progress;
  if (typeof status.message === 'string' && status.message !== '') out.message = status.message;
  if (typeof status.finishedAt === 'string' && status.finishedAt !== '') out.finishedAt = status.finishedAt;
  return out;
}

export interface WatchWorkflowOptions {
  /** Give up after this long (RUN_INCOMPLETE, exit 66: the workflow keeps running in the cluster). */
  timeoutMs?: number;
  /** Also get the workflow this often, in case a watch stalls without closing (default 60 s; 0: never). */
  pollMs?: number;
  /** Consecutive failed watch/get attempts tolerated before giving up (default 5). */
  maxRetries?: number;
  /** First back-off between failed attempts, doubled each time up to 10 s (default 500 ms). */
  retryDelayMs?: number;
  /** Ask the API server to end each watch after this long, so it is renewed (default 300 s). */
  watchTimeoutSeconds?: number;
  /** The template whose pods are the scoring shards (default 'score'). */
  scoreTemplate?: string;
  /** The template whose `shards` output is the number of shards (default 'plan'). */
  planTemplate?: string;
}

/** A stream that ends this soon without delivering anything counts as a failed attempt. */
const HEALTHY_WATCH_MS = 1000;

/**
 * Follows workflow `name` until its phase is Succeeded, Failed or Error and resolves with that status (a
 * Failed workflow resolves; it does not reject). onUpdate gets every distinct status on the way, starting
 * with the current one. Rejects with the mapped API error when one is permanent (403, 404: the workflow or
 * the CRD is gone), with WORKFLOW_FAILED when the workflow is deleted before it ends, RUN_INCOMPLETE when the
 * timeout passes, and with KUBE_UNAVAILABLE after maxRetries consecutive failed attempts to get or watch it.
 */
export function watchWorkflow(
  api: WorkflowsApi,
  namespace: string,
  name: string,
  onUpdate: (s: WorkflowStatus) => void,
  opts: WatchWorkflowOptions = {},
): Promise<WorkflowStatus> {
  const template = opts.scoreTemplate ?? SCORE_TEMPLATE;
  const planTemplate = opts.planTemplate ?? PLAN_TEMPLATE;
  const maxRetries = opts.maxRetries ?? 5;
  const retryDelayMs = opts.retryDelayMs ?? 500;
  const pollMs = opts.pollMs ?? 60_000;
  const where = `workflow "${name}" in namespace "${namespace}" at ${api.server}`;

  return new Promise<WorkflowStatus>((resolve, reject) => {
    let settled = false;
    let last: WorkflowStatus | undefined;
    let lastKey = '';
    let lastRv: string | undefined;
    let stream: { abort(): void } | undefined;
    /** The last watch said 410 Gone: watch the next time from "now" (the server then sends the object first). */
    let expired = false;
    const timers = new Set<ReturnType<typeof setTimeout>>();
    let poller: ReturnType<typeof setInterval> | undefined;

    const finish = (err: unknown, st?: WorkflowStatus) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (poller !== undefined) clearInterval(poller);
      stream?.abort();
      if (err !== undefined) reject(err);
      else resolve(st!);
    };
    const sleep = (ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(() => {
          timers.delete(t);
          r();
        }, ms);
        timers.add(t);
      });

    /** Takes in one version of the object, unless it is older than one already seen (a late poll answer). */
    const seen = (obj: KubeObject) => {
      if (settled) return;
      const rv = obj.metadata?.resourceVersion;
      if (rv !== undefined && lastRv !== undefined && /^\d+$/.test(rv) && /^\d+$/.test(lastRv)) {
        // resourceVersions are opaque, but every API server in use makes them integers; compare only those.
        if (BigInt(rv) < BigInt(lastRv)) return;
      }
      if (rv !== undefined) lastRv = rv;
      const st = workflowStatus(obj, template, planTemplate);
      const key = JSON.stringify(st);
      if (key !== lastKey) {
        lastKey = key;
        last = st;
        try {
          onUpdate(st);
        } catch (err) {
          finish(err);
          return;
        }
      }
      if (isFinalPhase(st.phase)) finish(undefined, st);
    };

    if (opts.timeoutMs !== undefined) {
      const t = setTimeout(() => {
        finish(
          new BatchscoreError(
            'RUN_INCOMPLETE',
            `gave up waiting for ${where} after ${opts.timeoutMs} ms (phase ${last?.phase ?? 'unknown'}` +
              `${last?.progress ? `, progress ${last.progress}` : ''}); it keeps running in the cluster`,
          ),
        );
      }, opts.timeoutMs);
      timers.add(t);
    }

    if (pollMs > 0) {
      let busy = false;
      poller = setInterval(() => {
        if (busy || settled) return;
        busy = true;
        api
          .get(namespace, name)
          .then(seen, (err: unknown) => {
            if (err instanceof BatchscoreError && !err.retryable) finish(err);
            // A transient failure here is the watch loop's business, not the safety net's.
          })
          .finally(() => {
            busy = false;
          });
      }, pollMs);
    }

    const deleted = () =>
      new BatchscoreError(
        'WORKFLOW_FAILED',
        `${where} was deleted before it finished (last phase ${last?.phase ?? 'unknown'})`,
      );

    /** One watch stream; resolves when it ends, with what went wrong if anything. */
    const watchOnce = () =>
      new Promise<{ err?: BatchscoreError; events: number; ms: number }>((done) => {
        const opened = Date.now();
        let events = 0;
        let closed = false;
        const close = (err?: BatchscoreError) => {
          if (closed) return;
          closed = true;
          stream?.abort();
          done({ err, events, ms: Date.now() - opened });
        };
        const onEvent = (type: WatchEventType, obj: KubeObject) => {
          if (closed || settled) return;
          events++;
          if (type === 'ADDED' || type === 'MODIFIED') {
            if (obj?.metadata?.name === name) seen(obj);
          } else if (type === 'DELETED') {
            if (obj?.metadata?.name === name) finish(deleted());
          } else if (type === 'ERROR') {
            // A Status object; 410 Gone means our resourceVersion is too old: get again and watch from there.
            const code = obj?.code;
            if (code === 410) {
              expired = true;
              close();
            } else {
              close(
                new BatchscoreError(
                  'KUBE_UNAVAILABLE',
                  `watch on ${where} reported an error${code ? ` (${code})` : ''}: ${obj?.message ?? 'no message'}`,
                ),
              );
            }
          }
          // BOOKMARK events only move the resourceVersion on.
          if (type === 'BOOKMARK' && obj?.metadata?.resourceVersion) lastRv = obj.metadata.resourceVersion;
        };
        const from = expired ? undefined : lastRv;
        expired = false;
        api
          .watch(
            namespace,
            {
              fieldSelector: `metadata.name=${name}`,
              resourceVersion: from,
              timeoutSeconds: opts.watchTimeoutSeconds ?? 300,
            },
            onEvent,
            (err) => close(err),
          )
          .then(
            (s) => {
              stream = s;
              if (closed || settled) s.abort();
            },
            (err: unknown) => close(toBatchscoreError(err, where)),
          );
      });

    const run = async () => {
      let failures = 0;
      let lastErr: BatchscoreError | undefined;
      while (!settled) {
        let failed = false;
        try {
          seen(await api.get(namespace, name));
        } catch (err) {
          const e = toBatchscoreError(err, where);
          if (!e.retryable) {
            finish(e.code === 'KUBE_NOT_FOUND' && last !== undefined ? deleted() : e);
            return;
          }
          lastErr = e;
          failed = true;
        }
        if (settled) return;
        if (!failed) {
          const r = await watchOnce();
          if (settled) return;
          if (r.err !== undefined && !r.err.retryable) {
            finish(r.err);
            return;
          }
          if (r.err !== undefined || (r.events === 0 && r.ms < HEALTHY_WATCH_MS)) {
            failed = true;
            lastErr =
              r.err ??
              new BatchscoreError('KUBE_UNAVAILABLE', `the API server keeps closing the watch on ${where} at once`);
          }
        }
        if (failed) {
          failures++;
          if (failures > maxRetries) {
            finish(
              new BatchscoreError(
                'KUBE_UNAVAILABLE',
                `lost track of ${where} after ${failures} failed attempts to get or watch it: ` +
                  `${lastErr?.message ?? 'unknown error'}`,
                { cause: lastErr },
              ),
            );
            return;
          }
          await sleep(Math.min(retryDelayMs * 2 ** (failures - 1), 10_000));
        } else {
          failures = 0;
        }
      }
    };
    run().catch((err: unknown) => finish(toBatchscoreError(err, where)));
  });
}

function toBatchscoreError(err: unknown, where: string): BatchscoreError {
  if (err instanceof BatchscoreError) return err;
  return new BatchscoreError('INTERNAL', `while following ${where}: ${errorMessage(err)}`, { cause: err });
}
