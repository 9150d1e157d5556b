// What the kubelet tells the API server about a pod: its status (phase, conditions, container states) through the
// status subresource, as a JSON merge patch (which replaces the lists wholesale), one write after another, and
// events (best effort, as a kubelet's are).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeError, type Kube } from './kube.js';
import { log, now, sleep } from './log.js';
import type { Container, Pod, PodCondition } from './types.js';

export interface ContainerState {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    reason: string;
    message?: string;
    signal?: number;
    startedAt: string | null;
    finishedAt: string;
    containerID?: string;
  };
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState?: ContainerState;
  containerID?: string;
}

export class PodStatusWriter {
  phase = 'Pending';
  reason: string | undefined;
  message: string | undefined;
  startTime = now();
  readonly conditions = new Map<string, PodCondition>();
  readonly statuses = new Map<string, ContainerStatus>();
  /** Once the pod is gone from the API server, nothing more is written. */
  deleted = false;
  private chain: Promise<void> = Promise.resolve();
  readonly path: string;

  constructor(
    private readonly kube: Kube,
    private pod: Pod,
    /** The pod's folder, where events.log is kept. */
    private readonly dir: string,
  ) {
    this.path =
      `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace)}` +
      `/pods/${encodeURIComponent(pod.metadata.name)}`;
  }

  update(pod: Pod) {
    this.pod = pod;
  }

  podLog(msg: string, fields?: Record<string, unknown>): void {
    log(`pod ${this.pod.metadata.namespace}/${this.pod.metadata.name}: ${msg}`, fields);
    try {
      appendFileSync(join(this.dir, 'events.log'), `${new Date().toISOString()} ${msg}\n`);
    } catch {
      /* pod folder not made yet */
    }
  }

  async event(reason: string, message: string, type = 'Normal'): Promise<void> {
    this.podLog(`${reason}: ${message}`);
    const { namespace: ns, name, uid } = this.pod.metadata;
    const t = now();
    try {
      await this.kube.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${name}.`, namespace: ns },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: ns, name, uid },
        reason,
        message,
        type,
        source: { component: 'kubelet', host: this.pod.spec.nodeName },
        reportingComponent: 'kubelet',
        reportingInstance: this.pod.spec.nodeName,
        firstTimestamp: t,
        lastTimestamp: t,
        count: 1,
      });
    } catch {
      /* events are best effort, as a kubelet's are */
    }
  }

  setCondition(type: string, status: string, reason?: string): void {
    const old = this.conditions.get(type);
    if (old && old.status === status && old.reason === reason) return;
    const c: PodCondition = {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: old?.status === status ? old.lastTransitionTime : now(),
    };
    if (reason) c.reason = reason;
    this.conditions.set(type, c);
  }

  containerStatus(c: Container): ContainerStatus {
    let s = this.statuses.get(c.name!);
    if (!s) {
      s = {
        name: c.name!,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'PodInitializing' } },
      };
      this.statuses.set(c.name!, s);
    }
    return s;
  }

  /** Pure but for `this`: the status a kubelet would write now. */
  body() {
    const init = (this.pod.spec.initContainers ?? []).map((c) => this.containerStatus(c));
    const main = this.pod.spec.containers.map((c) => this.containerStatus(c));
    return {
      status: {
        phase: this.phase,
        conditions: [...this.conditions.values()],
        hostIP: '127.0.0.1',
        hostIPs: [{ ip: '127.0.0.1' }],
        podIP: '127.0.0.1',
        podIPs: [{ ip: '127.0.0.1' }],
        startTime: this.startTime,
        containerStatuses: main,
        reason: this.reason ?? null,
        message: this.message ?? null,
        ...(init.length ? { initContainerStatuses: init } : {}),
      },
    };
  }

  /** Queues the status as it is now; resolves once it (and every write before it) is sent or given up on. */
  write(): Promise<void> {
    const body = this.body();
    this.chain = this.chain.then(async () => {
      if (this.deleted) return;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.kube.mergePatch(`${this.path}/status`, body);
          return;
        } catch (err) {
          if (err instanceof KubeError && err.status === 404) return; // deleted meanwhile
          if (attempt >= 5) {
            this.podLog(`status update failed: ${(err as Error).message}`);
            return;
          }
          await sleep(200 * 2 ** attempt);
        }
      }
    });
    return this.chain;
  }

  /** Resolves once every queued write is done. */
  flushed(): Promise<void> {
    return this.chain;
  }

  /** The pod's readiness conditions from its containers'; Running once one of them runs. */
  updateReady(): void {
    const all = this.pod.spec.containers.map((c) => this.statuses.get(c.name!));
    const ready = all.every((s) => s?.ready);
    this.setCondition('ContainersReady', ready ? 'True' : 'False', ready ? undefined : 'ContainersNotReady');
    this.setCondition('Ready', ready ? 'True' : 'False', ready ? undefined : 'ContainersNotReady');
    if (all.some((s) => s?.state.running) && this.phase === 'Pending') this.phase = 'Running';
  }
}
