// One pod on one of the runner's Nodes, from start to end as a kubelet runs it: volumes, init containers in order,
// then the containers together, restarts under restartPolicy with back-off, activeDeadlineSeconds, and deletion
// (SIGTERM, SIGKILL after the grace period, then the Pod deleted with grace 0).
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join, posix } from 'node:path';
import {
  prepareContainer,
  startContainer,
  termination,
  type ContainerContext,
  type RunningContainer,
} from './containerRunner.js';
import { UserError } from './containerUser.js';
import { ImageMissingError, type OpenImage } from './images.js';
import { KubeError, type Kube } from './kube.js';
import { now, sleep } from './log.js';
import { ConfigError } from './objects.js';
import { PodStatusWriter } from './statusWriter.js';
import type { Container, NodeConfig, Pod, PodsFrom } from './types.js';
import { PodVolumes } from './volumes.js';

/** What a pod needs of the runner that runs it. */
export interface PodHost {
  kube: Kube;
  podsDir: string;
  stateDir: string;
  apiServerPort: number;
  podsFrom: PodsFrom;
  cgroupBase: string | undefined;
  node(name: string | undefined): NodeConfig | undefined;
  openImage(ref: string): Promise<OpenImage>;
}

export class PodWorker {
  readonly uid: string;
  readonly dir: string;
  readonly status: PodStatusWriter;
  /** Container name → its running process. */
  readonly procs = new Map<string, RunningContainer>();
  private volumes: PodVolumes;
  private stopping = false; // deletion, deadline: no new containers
  private terminating = false;
  private deleting = false;
  private done = false;
  private deadlineTimer: NodeJS.Timeout | undefined;
  runPromise: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: PodHost,
    private podNow: Pod,
  ) {
    const pod = podNow;
    this.uid = pod.metadata.uid;
    this.dir = join(host.podsDir, `${pod.metadata.namespace}_${pod.metadata.name}_${this.uid}`);
    this.status = new PodStatusWriter(host.kube, pod, this.dir);
    this.volumes = new PodVolumes(host.kube, pod, this.dir, {
      stateDir: host.stateDir,
      node: host.node(pod.spec.nodeName),
      log: (m) => this.status.podLog(m),
    });
  }

  private get spec() {
    return this.podNow.spec;
  }

  /** The Pod as last seen. */
  pod(): Pod {
    return this.podNow;
  }

  // --- lifecycle -------------------------------------------------------------------------------------------

  async run(): Promise<void> {
    const st = this.status;
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    writeFileSync(join(this.dir, 'pod.json'), JSON.stringify(this.podNow, null, 2));
    st.podLog('started', { node: this.spec.nodeName });
    const scheduled = (this.podNow.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    st.conditions.set(
      'PodScheduled',
      scheduled ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() },
    );
    const inits = this.spec.initContainers ?? [];
    st.setCondition('PodReadyToStartContainers', 'False');
    st.setCondition('Initialized', 'False', inits.length ? 'ContainersNotInitialized' : undefined);
    st.setCondition('Ready', 'False', 'ContainersNotReady');
    st.setCondition('ContainersReady', 'False', 'ContainersNotReady');
    if (!inits.length) st.setCondition('Initialized', 'True');
    for (const c of this.spec.containers) st.containerStatus(c).state = { waiting: { reason: 'ContainerCreating' } };
    await st.write();
    this.armDeadline();

    try {
      const unsupported = this.unsupported();
      if (unsupported) return await this.fail('UnsupportedPodSpec', unsupported);
      await this.prepareVolumes();
      if (this.stopping) return await this.finish();
      st.setCondition('PodReadyToStartContainers', 'True');

      for (const c of inits) {
        const code = await this.runWithRestarts(c, true);
        if (this.stopping) return await this.finish();
        if (code !== 0) {
          st.setCondition('Initialized', 'False', 'ContainersNotInitialized');
          return await this.fail(undefined, undefined);
        }
      }
      st.setCondition('Initialized', 'True');
      await st.write();

      const results = await Promise.all(this.spec.containers.map((c) => this.runWithRestarts(c, false)));
      if (st.phase === 'Failed') return await this.finish(); // deadline
      st.phase = results.every((r) => r === 0) ? 'Succeeded' : 'Failed';
      await this.finish();
    } catch (err) {
      if (st.deleted) return;
      st.podLog(`failed: ${(err as Error).stack ?? err}`);
      await this.fail('PodRunnerError', `the pod runner could not run this pod: ${(err as Error).message}`);
    }
  }

  private unsupported(): string | undefined {
    for (const c of this.spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        return `init container ${c.name}: restartPolicy Always (a native sidecar) is not supported by the pod runner`;
      }
    }
    return undefined;
  }

  async fail(reason: string | undefined, message: string | undefined): Promise<void> {
    this.status.phase = 'Failed';
    if (reason) this.status.reason = reason;
    if (message) this.status.message = message;
    if (message) await this.status.event(reason ?? 'Failed', message, 'Warning');
    await this.finish();
  }

  private async finish(): Promise<void> {
    const st = this.status;
    st.setCondition('Ready', 'False', 'PodCompleted');
    st.setCondition('ContainersReady', 'False', 'PodCompleted');
    st.setCondition('PodReadyToStartContainers', 'False');
    for (const s of st.statuses.values()) {
      s.ready = false;
      s.started = false;
    }
    if (st.phase !== 'Succeeded' && st.phase !== 'Failed') st.phase = 'Failed';
    clearTimeout(this.deadlineTimer);
    this.volumes.stop();
    st.podLog(`phase ${st.phase}`);
    await st.write();
    this.done = true;
    if (this.podNow.metadata.deletionTimestamp) await this.deleteNow();
  }

  private armDeadline(): void {
    const s = this.spec.activeDeadlineSeconds;
    if (!s) return;
    const end = Date.parse(this.status.startTime) + s * 1000;
    // setTimeout fires at once for a delay past 2^31-1 ms (~24.8 days, with only a warning): a pod with a long
    // deadline (a backfill's 30 days) would fail at its start. Wait in steps below that instead.
    const MAX_DELAY = 2 ** 31 - 1;
    const wait = () => {
      const left = end - Date.now();
      this.deadlineTimer = setTimeout(left > MAX_DELAY ? wait : expire, Math.min(Math.max(0, left), MAX_DELAY));
    };
    const expire = () => {
      if (this.done || this.stopping) return;
      this.status.reason = 'DeadlineExceeded';
      this.status.message = `Pod was active on the node longer than the specified deadline`;
      this.status.phase = 'Failed';
      void this.status.event('DeadlineExceeded', this.status.message, 'Warning');
      void this.stopContainers(this.spec.terminationGracePeriodSeconds ?? 30);
    };
    wait();
  }

  /** The Pod changed (watch event). A deletion stops it as a kubelet would. */
  update(pod: Pod): void {
    this.podNow = pod;
    this.status.update(pod);
    if (pod.metadata.deletionTimestamp && !this.terminating) {
      this.terminating = true;
      const grace = pod.metadata.deletionGracePeriodSeconds ?? this.spec.terminationGracePeriodSeconds ?? 30;
      void (async () => {
        if (!this.done) {
          await this.status.event('Killing', `Stopping the pod's containers (grace ${grace} s)`);
          await this.stopContainers(grace);
          await this.runPromise; // run() ends with finish(), which deletes
        }
        await this.deleteNow();
      })();
    }
  }

  /** SIGTERM to each running container's pid 1, SIGKILL to all its processes after the grace period. */
  async stopContainers(graceSeconds: number): Promise<void> {
    this.stopping = true;
    const running = [...this.procs.values()];
    for (const p of running) p.signal('SIGTERM');
    const all = Promise.all(running.map((p) => p.exited));
    const timedOut = await Promise.race([all.then(() => false), sleep(graceSeconds * 1000).then(() => true)]);
    if (timedOut) {
      for (const p of running) p.killAll();
      await all;
    }
  }

  private async deleteNow(): Promise<void> {
    if (this.status.deleted || this.deleting) return;
    this.deleting = true;
    await this.status.flushed();
    try {
      await this.host.kube.request('DELETE', this.status.path, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (err) {
      const status = err instanceof KubeError ? err.status : 0;
      if (status !== 404 && status !== 409) this.status.podLog(`delete failed: ${(err as Error).message}`);
    }
  }

  /** The Pod is gone from the API server: whatever still runs is killed, and its volumes removed (logs stay). */
  gone(): void {
    this.status.deleted = true;
    this.stopping = true;
    for (const p of this.procs.values()) p.killAll();
    clearTimeout(this.deadlineTimer);
    this.volumes.stop();
    void Promise.all([...this.procs.values()].map((p) => p.exited)).then(() => {
      rmSync(join(this.dir, 'volumes'), { recursive: true, force: true });
      // The containers' writable layers too (image mode); their argv, pid and termination-log files stay.
      const ctrs = join(this.dir, 'containers');
      for (const d of existsSync(ctrs) ? readdirSync(ctrs) : []) {
        rmSync(join(ctrs, d, 'rootfs'), { recursive: true, force: true });
      }
      this.status.podLog('deleted');
    });
  }

  /** A pod whose processes were lost (the runner restarted while it ran). */
  async orphan(): Promise<void> {
    this.status.startTime = this.podNow.status?.startTime ?? now();
    for (const cs of this.podNow.status?.conditions ?? []) this.status.conditions.set(cs.type, cs);
    await this.fail('NodeLost', 'the pod runner restarted while this pod ran; its processes were lost');
  }

  // --- volumes ----------------------------------------------------------------------------------------------

  private async prepareVolumes(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.volumes.prepare();
        return;
      } catch (err) {
        if (!(err instanceof ConfigError) || this.stopping) throw err;
        if (attempt === 0 || attempt % 12 === 0) await this.status.event('FailedMount', err.message, 'Warning');
        await sleep(5000); // the kubelet also waits for the object to appear
        if (this.stopping) return;
      }
    }
  }

  // --- containers -------------------------------------------------------------------------------------------

  /** Runs a container until it ends for good under the pod's restartPolicy; returns its last exit code. */
  private async runWithRestarts(c: Container, init: boolean): Promise<number> {
    const policy = this.spec.restartPolicy ?? 'Always';
    for (let restart = 0; ; restart++) {
      const code = await this.runContainer(c, init, restart);
      if (this.stopping || this.status.deleted) return code;
      const again = policy === 'Always' ? !init || code !== 0 : policy === 'OnFailure' ? code !== 0 : false;
      if (!again) return code;
      const s = this.status.containerStatus(c);
      s.lastState = { terminated: s.state.terminated! };
      s.restartCount = restart + 1;
      const backoff = Math.min(300, 10 * 2 ** restart);
      s.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${backoff}s restarting failed container=${c.name} pod=${this.podNow.metadata.name}`,
        },
      };
      await this.status.write();
      const end = Date.now() + backoff * 1000;
      while (Date.now() < end && !this.stopping) await sleep(500);
      if (this.stopping) return code;
    }
  }

  private context(): ContainerContext {
    return {
      kube: this.host.kube,
      pod: this.podNow,
      node: this.host.node(this.spec.nodeName),
      dir: this.dir,
      apiServerPort: this.host.apiServerPort,
      podsFrom: this.host.podsFrom,
      volumes: this.volumes.paths,
    };
  }

  /** A start that failed for good: StartError, exit 128, as the kubelet reports a container it could not start. */
  private async startError(c: Container, message: string): Promise<number> {
    const s = this.status.containerStatus(c);
    s.state = { terminated: { exitCode: 128, reason: 'StartError', message, startedAt: null, finishedAt: now() } };
    await this.status.event('Failed', `Error: ${message}`, 'Warning');
    await this.status.write();
    return 128;
  }

  private async runContainer(c: Container, init: boolean, restart: number): Promise<number> {
    const st = this.status;
    const s = st.containerStatus(c);
    const ctrDir = join(this.dir, 'containers', `${c.name}-${restart}`);
    mkdirSync(ctrDir, { recursive: true });
    const cgroup = this.host.cgroupBase ? join(this.host.cgroupBase, `${this.uid}_${c.name}_${restart}`) : undefined;
    let launch;
    for (let attempt = 0; ; attempt++) {
      if (this.stopping) return 137;
      try {
        launch = await prepareContainer(this.context(), c, ctrDir, cgroup, (ref) => this.host.openImage(ref));
        break;
      } catch (err) {
        const waiting = waitingReason(err);
        if (!waiting) return this.startError(c, (err as Error).message);
        // The kubelet keeps such a pod Pending and tries again: the Secret may be created, the image built.
        const message = (err as Error).message;
        s.state = { waiting: { reason: waiting.reason(attempt), message } };
        if (attempt === 0 || attempt % 12 === 0) {
          await st.event(waiting.event, `Error: ${message}`, 'Warning');
          await st.write();
        }
        await sleep(5000);
      }
    }
    if (launch.image) {
      s.imageID = `buildah://${launch.image.config.id}`;
      if (launch.image.ranAs !== launch.image.ref) {
        await st.event(
          'Pulled',
          `image ${launch.image.ref} cannot be built on this machine: container ${c.name} runs from ` +
            `${launch.image.ranAs} instead`,
        );
      }
    }
    if (cgroup) mkdirSync(cgroup, { recursive: true });
    const logs = join(this.dir, 'logs');
    const startedAt = now();
    const run = await startContainer(c.name!, launch, { ctrDir, logs, cwd: this.dir });
    this.procs.set(c.name!, run);
    s.containerID = `local://${run.initPid ?? run.child.pid}`;
    s.state = { running: { startedAt } };
    s.started = true;
    s.ready = !init;
    if (!init) st.updateReady();
    st.podLog(`container ${c.name} started`, {
      pid: run.initPid ?? run.child.pid,
      ...(launch.image ? { image: launch.image.ranAs } : {}),
      argv: launch.argv.join(' ').slice(0, 300),
    });
    await st.write();

    const exit = await run.exited;
    this.procs.delete(c.name!);
    const t = await termination(c, launch, run, exit, { ctrDir, logs });
    if (cgroup) {
      try {
        rmdirSync(cgroup);
      } catch {
        /* still busy: `down` sweeps it */
      }
    }
    if (!init && t.reason !== 'StartError') this.argoExitCode(c, t.exitCode);
    s.state = {
      terminated: {
        exitCode: t.exitCode,
        reason: t.reason,
        startedAt: t.reason === 'StartError' ? null : startedAt,
        finishedAt: now(),
        ...(t.reason === 'StartError' ? {} : { containerID: s.containerID! }),
        ...(t.signal ? { signal: osSignal(t.signal) } : {}),
        ...(t.message ? { message: t.message } : {}),
      },
    };
    s.ready = false;
    s.started = false;
    st.podLog(`container ${c.name} exited`, {
      exitCode: t.exitCode,
      reason: t.reason,
      ...(t.signal ? { signal: t.signal } : {}),
    });
    if (t.reason === 'StartError') await st.event('Failed', `Error: ${t.message}`, 'Warning');
    if (!init) st.updateReady();
    await st.write();
    return t.exitCode;
  }

  /**
   * Argo's wait sidecar learns that a container ended from /var/run/argo/ctr/NAME/exitcode, which the emissary
   * writes as it exits. When the emissary itself was killed (SIGKILL of the container's pid 1), nothing writes it,
   * and on a cluster Argo's controller would then stop the wait container through pods/exec, which needs a
   * kubelet API this runner does not have; so the runner writes the exit code itself, and the wait container
   * reports the step as failed instead of waiting for ever.
   */
  private argoExitCode(c: Container, exitCode: number): void {
    const m = (c.volumeMounts ?? []).find((x) => posix.normalize(x.mountPath) === '/var/run/argo' && !x.subPath);
    const vol = m && this.volumes.paths.get(m.name);
    if (!vol) return;
    const file = join(vol, 'ctr', c.name!, 'exitcode');
    if (existsSync(file)) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, String(exitCode));
      this.status.podLog(`container ${c.name}: no exit code from Argo's emissary; wrote ${exitCode} to ${file}`);
    } catch (err) {
      this.status.podLog(`container ${c.name}: cannot write ${file}: ${(err as Error).message}`);
    }
  }
}

function osSignal(name: NodeJS.Signals): number {
  return osConstants.signals[name] ?? 0;
}

/** Pure: the waiting state of a start that may succeed later, or undefined for one that never will. */
function waitingReason(err: unknown): { reason: (attempt: number) => string; event: string } | undefined {
  if (err instanceof ConfigError || err instanceof UserError) {
    return { reason: () => 'CreateContainerConfigError', event: 'Failed' };
  }
  if (err instanceof ImageMissingError) {
    return { reason: (a) => (a === 0 ? 'ErrImagePull' : 'ImagePullBackOff'), event: 'Failed' };
  }
  return undefined;
}
