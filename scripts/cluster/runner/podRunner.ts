// The pod runner: the one simulated part of `npm run cluster` (issue 12), a kubelet stand-in. The API server,
// scheduler, controller-manager and Argo's controller are the real binaries; only the node agent is this code,
// because a real kubelet needs a container runtime and root-level cgroup/network plumbing the test machines do not
// have. It registers the fake Nodes it was given (as KWOK does: capacity, labels, taints, Ready) and keeps their
// Ready heartbeat fresh, so that the real scheduler decides where pods go; and it watches the Pods bound to those
// Nodes and runs them (podWorker.ts), each container in the root file system of its image (containerRunner.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Watch } from '@kubernetes/client-node';
import { containerPrefix, ImageStore } from './images.js';
import { Kube, KubeError } from './kube.js';
import { log, now, sleep } from './log.js';
import { PodWorker, type PodHost } from './podWorker.js';
import { pickCgroupBase } from './processes.js';
import type { NodeConfig, Pod, RunnerConfig } from './types.js';

export class PodRunner implements PodHost {
  readonly kube: Kube;
  readonly stateDir: string;
  readonly podsDir: string;
  readonly apiServerPort: number;
  readonly podsFrom: RunnerConfig['pods'];
  readonly cgroupBase: string | undefined;
  private readonly nodes: Map<string, NodeConfig>;
  private readonly workers = new Map<string, PodWorker>(); // pod uid -> PodWorker
  private readonly finished = new Set<string>(); // uids whose pods ran to the end here (never run again)
  private readonly images: ImageStore | undefined;
  private started = now();
  private initialList = false;
  private firstList = true;

  constructor(private readonly config: RunnerConfig) {
    this.kube = new Kube(config.kubeconfig);
    this.stateDir = config.stateDir;
    this.podsDir = join(config.stateDir, 'pods');
    this.apiServerPort = config.apiServerPort;
    this.podsFrom = config.pods;
    this.nodes = new Map(config.nodes.map((n) => [n.name, n]));
    mkdirSync(this.podsDir, { recursive: true });
    this.cgroupBase = pickCgroupBase(this.stateDir);
    writeFileSync(join(this.stateDir, 'cgroup'), this.cgroupBase ?? '');
    log(
      this.cgroupBase
        ? `tracking container processes in ${this.cgroupBase}`
        : 'no writable cgroup: tracking containers by process group',
    );
    if (config.pods.from === 'image') {
      this.images = new ImageStore(containerPrefix(this.stateDir), config.pods.aliases);
      const aliases = Object.entries(config.pods.aliases).map(([a, b]) => `${a} runs from ${b}`);
      log(`containers run from their images (buildah storage)${aliases.length ? `; ${aliases.join('; ')}` : ''}`);
    } else {
      log(`containers run from this checkout (${config.pods.source} at ${config.pods.root}), not from images`);
    }
  }

  node(name: string | undefined): NodeConfig | undefined {
    return name === undefined ? undefined : this.nodes.get(name);
  }

  openImage(ref: string) {
    if (!this.images) throw new Error('openImage: containers run from the checkout, not from images');
    return this.images.get(ref);
  }

  // --- nodes ------------------------------------------------------------------------------------------------

  private nodeStatus(n: NodeConfig, heartbeat: string) {
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: heartbeat,
      lastTransitionTime: this.started,
    });
    return {
      capacity: n.capacity,
      allocatable: n.allocatable ?? n.capacity,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'batchscore pod runner is posting ready status'),
      ],
      // Only an InternalIP: the API server then dials 127.0.0.1 for this node, never a name it cannot resolve.
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: 'batchscore pod runner',
        containerRuntimeVersion: this.podsFrom.from === 'image' ? 'buildah-chroot://0' : 'local://0',
        kubeletVersion: this.config.kubeletVersion ?? 'v1.34.4',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }

  async registerNodes(): Promise<void> {
    this.started = now();
    for (const n of this.nodes.values()) {
      const path = `/api/v1/nodes/${encodeURIComponent(n.name)}`;
      const labels = {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        type: 'kwok',
        ...n.labels,
      };
      const annotations = { 'node.alpha.kubernetes.io/ttl': '0', 'batchscore.dev/pod-runner': 'true' };
      try {
        await this.kube.get(path);
      } catch (err) {
        if (!(err instanceof KubeError) || err.status !== 404) throw err;
        await this.kube.request('POST', '/api/v1/nodes', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: n.name, labels, annotations },
          spec: { taints: n.taints ?? [] },
        });
        log(`node ${n.name} registered`);
      }
      // A new Node gets node.kubernetes.io/not-ready:NoSchedule from admission, and no node lifecycle controller
      // runs here to take it off again: set exactly our taints.
      await this.kube.mergePatch(path, { metadata: { labels, annotations }, spec: { taints: n.taints ?? [] } });
      await this.kube.mergePatch(`${path}/status`, { status: this.nodeStatus(n, now()) });
    }
  }

  async heartbeat(): Promise<void> {
    for (const n of this.nodes.values()) {
      try {
        await this.kube.mergePatch(`/api/v1/nodes/${encodeURIComponent(n.name)}/status`, {
          status: this.nodeStatus(n, now()),
        });
      } catch (err) {
        log(`node ${n.name}: heartbeat failed: ${(err as Error).message}`);
      }
    }
  }

  // --- pods -------------------------------------------------------------------------------------------------

  private onPod(type: string, pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const worker = this.workers.get(uid);
    if (type === 'DELETED') {
      if (worker) {
        this.workers.delete(uid);
        worker.gone();
      }
      this.finished.delete(uid);
      return;
    }
    if (!this.nodes.has(pod.spec?.nodeName ?? '')) return;
    if (worker) {
      worker.update(pod);
      return;
    }
    const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (terminal || this.finished.has(uid)) {
      if (pod.metadata.deletionTimestamp) void this.deleteTerminal(pod);
      return;
    }
    if (this.initialList && pod.status?.phase === 'Running') {
      // Running before this runner started: its processes were lost with the previous runner.
      this.finished.add(uid);
      void new PodWorker(this, pod).orphan();
      return;
    }
    const w = new PodWorker(this, pod);
    this.workers.set(uid, w);
    w.runPromise = w.run().finally(() => this.finished.add(uid));
    if (pod.metadata.deletionTimestamp) w.update(pod);
  }

  private async deleteTerminal(pod: Pod): Promise<void> {
    const { namespace: ns, name, uid } = pod.metadata;
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`;
    try {
      await this.kube.request('DELETE', path, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid },
      });
    } catch (err) {
      const status = err instanceof KubeError ? err.status : 0;
      if (status !== 404 && status !== 409) log(`pod ${ns}/${name}: delete failed: ${(err as Error).message}`);
    }
  }

  /** List, then watch from the list's resourceVersion; a watch that ends is resumed, a 410 Gone lists again. */
  async watchPods(): Promise<never> {
    const watch = new Watch(this.kube.kc);
    for (;;) {
      let rv: string;
      try {
        const list = await this.kube.get<{ metadata: { resourceVersion: string }; items: Pod[] }>('/api/v1/pods');
        rv = list.metadata.resourceVersion;
        const seen = new Set<string>();
        this.initialList = this.firstList;
        this.firstList = false;
        for (const pod of list.items) {
          seen.add(pod.metadata.uid);
          this.onPod('MODIFIED', pod);
        }
        this.initialList = false;
        for (const [uid, w] of this.workers) if (!seen.has(uid)) this.onPod('DELETED', w.pod());
      } catch (err) {
        log(`listing pods failed: ${(err as Error).message}; again in 2 s`);
        await sleep(2000);
        continue;
      }
      for (;;) {
        const result = await new Promise<{ err: unknown; gone: boolean }>((resolve) => {
          let gone = false;
          watch
            .watch(
              '/api/v1/pods',
              { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 300 },
              (type: string, obj: Pod & { code?: number }) => {
                if (type === 'ERROR') {
                  if (obj?.code === 410) gone = true;
                  return;
                }
                if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
                if (type !== 'BOOKMARK') this.onPod(type, obj);
              },
              (err: unknown) => resolve({ err, gone }),
            )
            .catch((err: unknown) => resolve({ err, gone }));
        });
        if (result.gone) break; // list again
        if (result.err) {
          const e = result.err as { message?: string; statusCode?: number };
          log(`pod watch ended: ${e.message ?? String(result.err)}; resuming`);
          await sleep(1000);
          if (e.statusCode === 410) break;
        }
      }
    }
  }

  /**
   * SIGTERM to every container, SIGKILL after 5 s. The image working containers stay for cluster.mjs `down` to
   * remove once the runner is gone: with vfs that takes long enough under load to outlast the runner's grace period.
   */
  async stopAll(): Promise<void> {
    const all = [...this.workers.values()];
    for (const w of all) for (const p of w.procs.values()) p.signal('SIGTERM');
    await Promise.race([Promise.all(all.flatMap((w) => [...w.procs.values()].map((p) => p.exited))), sleep(5000)]);
    for (const w of all) for (const p of w.procs.values()) p.killAll();
  }
}
