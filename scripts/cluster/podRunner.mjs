#!/usr/bin/env node
/**
 * The pod runner: the one simulated part of `npm run cluster` (issue 12), a kubelet stand-in. The API server,
 * scheduler, controller-manager and Argo's controller are the real binaries; only the node agent is this file,
 * because a real kubelet needs a container runtime, images and root-level cgroup/network plumbing that the test
 * machines do not have. It
 *   - registers the fake Nodes it was given (as KWOK does: capacity, labels, taints, Ready) and keeps their Ready
 *     heartbeat fresh, so that the real scheduler decides where pods go;
 *   - watches Pods bound to those Nodes and runs their containers as local processes, as a kubelet would: init
 *     containers in order, then the containers together; command/args with $(VAR) expansion; env from values,
 *     Secrets, ConfigMaps and the downward API; volumes as folders bind-mounted at their mountPath in a private
 *     mount namespace per container (`unshare --mount`), including the projected ServiceAccount token from the
 *     TokenRequest API, so in-cluster clients (Argo's argoexec) reach the API server at 127.0.0.1;
 *   - writes the Pod's status through the status subresource (phase, conditions, container states, exit codes),
 *     stops Pods that are deleted (SIGTERM, SIGKILL after the grace period, then deletes them with grace 0) and
 *     enforces spec.activeDeadlineSeconds.
 * Images are not pulled: a container runs its command on this machine, with a PATH that holds `batchscore` (this
 * checkout's CLI) and `argoexec`. Container resources and securityContext are not enforced (nothing to enforce
 * them with); a container is never reported OOMKilled unless it was.
 *
 * Usage: node scripts/cluster/podRunner.mjs CONFIG.json  (written by scripts/cluster/cluster.mjs `up`)
 * Each container's stdout and stderr go to <stateDir>/pods/<namespace>_<pod>_<uid>/logs/<container>.{stdout,stderr}
 * (`kubectl logs` does not work: there is no kubelet API to ask).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import { constants as osConstants } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { KubeConfig, Watch } from '@kubernetes/client-node';

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'); // metav1.Time has second precision
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

function log(msg, fields = {}) {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  process.stdout.write(`${new Date().toISOString()} ${msg}${extra ? ' ' + extra : ''}\n`);
}

export class KubeError extends Error {
  constructor(method, path, status, body) {
    const message = body?.message ?? (typeof body === 'string' ? body.slice(0, 300) : '');
    super(`${method} ${path}: HTTP ${status}${message ? ': ' + message : ''}`);
    this.status = status;
    this.reason = body?.reason;
  }
}

/** JSON requests to the API server with the kubeconfig's credentials (client-node applies CA and token). */
export class Kube {
  constructor(kubeconfigPath) {
    this.kc = new KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    this.server = this.kc.getCurrentCluster().server;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  }

  async request(method, path, body, contentType = 'application/json') {
    const opts = { method, headers: { Accept: 'application/json' }, agent: this.agent };
    await this.kc.applyToHTTPSOptions(opts);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (data) {
      opts.headers['Content-Type'] = contentType;
      opts.headers['Content-Length'] = data.length;
    }
    return new Promise((resolve, reject) => {
      const req = https.request(new URL(this.server + path), opts, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            /* not JSON: keep the text for the error */
          }
          if (res.statusCode >= 200 && res.statusCode < 300) resolve(parsed);
          else reject(new KubeError(method, path, res.statusCode, parsed));
        });
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  get(path) {
    return this.request('GET', path);
  }
  mergePatch(path, body) {
    return this.request('PATCH', path, body, 'application/merge-patch+json');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes semantics: $(VAR) expansion, quantities, the downward API

/** $(VAR) expansion exactly as Kubernetes does it (third_party/forked/golang/expansion): `$$` is a literal `$`,
 * an undefined $(VAR) stays as written. */
export function expand(input, lookup) {
  if (typeof input !== 'string' || !input.includes('$')) return input;
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let read;
    let advance = 1;
    if (rest[0] === '$') read = '$';
    else if (rest[0] === '(') {
      const close = rest.indexOf(')', 1);
      if (close > 0) {
        const name = rest.slice(1, close);
        const value = lookup(name);
        read = value === undefined ? `$(${name})` : value;
        advance = close + 1;
      } else read = '$(';
    } else read = '$' + rest[0];
    out += read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

const QUANTITY_SUFFIX = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(q) {
  const m = /^([+-]?[0-9.]+)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/.exec(String(q).trim());
  if (!m || !(m[3] in QUANTITY_SUFFIX)) throw new Error(`quantity ${JSON.stringify(q)} is not a Kubernetes quantity`);
  return Number(m[1]) * 10 ** Number(m[2] ?? 0) * QUANTITY_SUFFIX[m[3]];
}

function fieldRefValue(pod, fieldPath) {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) return pod.metadata[keyed[1]]?.[keyed[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'metadata.labels':
    case 'metadata.annotations':
      return Object.entries(pod.metadata[fieldPath.split('.')[1]] ?? {})
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join('\n');
    case 'spec.nodeName':
      return pod.spec.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.hostIP':
    case 'status.podIPs':
    case 'status.hostIPs':
      // Every pod shares this machine's loopback: there is no pod network.
      return '127.0.0.1';
    default:
      throw new Error(`fieldRef ${fieldPath}: not a field the downward API offers`);
  }
}

function resourceFieldRefValue(pod, container, ref, node) {
  const c = ref.containerName ? pod.spec.containers.find((x) => x.name === ref.containerName) : container;
  if (!c) throw new Error(`resourceFieldRef ${ref.resource}: no container ${ref.containerName} in the pod`);
  const [kind, name] = ref.resource.split('.'); // limits.cpu, requests.memory, limits.ephemeral-storage
  // An unset limit is the node's allocatable, an unset request the limit, as the kubelet resolves them.
  const fromNode = (node?.allocatable ?? node?.capacity)?.[name];
  const raw =
    c.resources?.[kind]?.[name] ?? (kind === 'limits' ? fromNode : (c.resources?.limits?.[name] ?? fromNode)) ?? '0';
  const divisor = parseQuantity(ref.divisor ?? '1') || 1; // the API server defaults an unset divisor to "0", meaning 1
  return String(Math.ceil(parseQuantity(raw) / divisor));
}

/** A cgroup per container, where the machine lets us make one, so that every process a container started
 * (also those in process groups of their own, as argoexec's child is) can be found and killed. */
function pickCgroupBase(stateDir) {
  const id = 'batchscore-cluster-' + createHash('sha256').update(stateDir).digest('hex').slice(0, 10);
  const candidates = [];
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) candidates.push('/sys/fs/cgroup'); // cgroup v2
  if (existsSync('/sys/fs/cgroup/unified/cgroup.procs')) candidates.push('/sys/fs/cgroup/unified'); // hybrid
  if (existsSync('/sys/fs/cgroup/pids/cgroup.procs')) candidates.push('/sys/fs/cgroup/pids'); // v1
  for (const root of candidates) {
    const base = join(root, id);
    try {
      mkdirSync(base, { recursive: true });
      const probe = join(base, 'probe');
      mkdirSync(probe, { recursive: true });
      rmdirSync(probe);
      return base;
    } catch {
      /* not writable here: try the next */
    }
  }
  return undefined;
}

function cgroupPids(dir) {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function killPids(pids, signal) {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Simulated images: no registry, so what an image would contribute (entrypoint, cmd, env) comes from this table,
// matched on the repository's last path segment. Only used when a container gives no command.

const IMAGES = {
  'batchscore-worker': { entrypoint: ['batchscore'], cmd: ['--help'], env: { NODE_ENV: 'production' } },
  argoexec: { entrypoint: ['argoexec'], cmd: [], env: {} },
};

function imageInfo(image) {
  const repo = String(image ?? '')
    .split('@')[0]
    .replace(/:[^/:]*$/, '');
  return IMAGES[repo.split('/').pop()] ?? { entrypoint: undefined, cmd: [], env: {} };
}

// ---------------------------------------------------------------------------------------------------------------

class ConfigError extends Error {} // kubelet's CreateContainerConfigError: retried until the object exists

class PodWorker {
  constructor(runner, pod) {
    this.runner = runner;
    this.kube = runner.kube;
    this.pod = pod;
    this.uid = pod.metadata.uid;
    this.ns = pod.metadata.namespace;
    this.name = pod.metadata.name;
    this.dir = join(runner.podsDir, `${this.ns}_${this.name}_${this.uid}`);
    this.statuses = new Map(); // container name -> ContainerStatus
    this.procs = new Map(); // container name -> {child, cgroup, exited: Promise}
    this.conditions = new Map();
    this.phase = 'Pending';
    this.reason = undefined;
    this.message = undefined;
    this.startTime = now();
    this.stopping = false; // deletion, deadline: no new containers
    this.deleted = false;
    this.tokenTimers = [];
    this.statusChain = Promise.resolve();
    this.path = `/api/v1/namespaces/${encodeURIComponent(this.ns)}/pods/${encodeURIComponent(this.name)}`;
  }

  get spec() {
    return this.pod.spec;
  }

  podLog(msg, fields) {
    log(`pod ${this.ns}/${this.name}: ${msg}`, fields);
    try {
      appendFileSync(join(this.dir, 'events.log'), `${new Date().toISOString()} ${msg}\n`);
    } catch {
      /* pod folder not made yet */
    }
  }

  async event(reason, message, type = 'Normal') {
    this.podLog(`${reason}: ${message}`);
    const t = now();
    try {
      await this.kube.request('POST', `/api/v1/namespaces/${encodeURIComponent(this.ns)}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${this.name}.`, namespace: this.ns },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: this.ns, name: this.name, uid: this.uid },
        reason,
        message,
        type,
        source: { component: 'kubelet', host: this.spec.nodeName },
        reportingComponent: 'kubelet',
        reportingInstance: this.spec.nodeName,
        firstTimestamp: t,
        lastTimestamp: t,
        count: 1,
      });
    } catch {
      /* events are best effort, as a kubelet's are */
    }
  }

  setCondition(type, status, reason) {
    const old = this.conditions.get(type);
    if (old && old.status === status && old.reason === reason) return;
    const c = {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: old?.status === status ? old.lastTransitionTime : now(),
    };
    if (reason) c.reason = reason;
    this.conditions.set(type, c);
  }

  containerStatus(c, init) {
    let s = this.statuses.get(c.name);
    if (!s) {
      s = {
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: init ? 'PodInitializing' : 'PodInitializing' } },
      };
      this.statuses.set(c.name, s);
    }
    return s;
  }

  /** The status a kubelet would write now; sent as a JSON merge patch, which replaces the lists wholesale. */
  statusBody() {
    const init = (this.spec.initContainers ?? []).map((c) => this.containerStatus(c, true));
    const main = this.spec.containers.map((c) => this.containerStatus(c, false));
    const status = {
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
    };
    if (init.length) status.initContainerStatuses = init;
    return { status };
  }

  writeStatus() {
    const body = this.statusBody();
    this.statusChain = this.statusChain.then(async () => {
      if (this.deleted) return;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.kube.mergePatch(`${this.path}/status`, body);
          return;
        } catch (err) {
          if (err.status === 404) return; // deleted meanwhile
          if (attempt >= 5) {
            this.podLog(`status update failed: ${err.message}`);
            return;
          }
          await sleep(200 * 2 ** attempt);
        }
      }
    });
    return this.statusChain;
  }

  // --- lifecycle -------------------------------------------------------------------------------------------

  async run() {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    writeFileSync(join(this.dir, 'pod.json'), JSON.stringify(this.pod, null, 2));
    this.podLog('started', { node: this.spec.nodeName });
    const scheduled = (this.pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    this.conditions.set(
      'PodScheduled',
      scheduled ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() },
    );
    this.setCondition('PodReadyToStartContainers', 'False');
    this.setCondition(
      'Initialized',
      'False',
      (this.spec.initContainers ?? []).length ? 'ContainersNotInitialized' : undefined,
    );
    this.setCondition('Ready', 'False', 'ContainersNotReady');
    this.setCondition('ContainersReady', 'False', 'ContainersNotReady');
    if (!(this.spec.initContainers ?? []).length) this.setCondition('Initialized', 'True');
    for (const c of this.spec.containers)
      this.containerStatus(c, false).state = { waiting: { reason: 'ContainerCreating' } };
    await this.writeStatus();
    this.armDeadline();

    try {
      const unsupported = this.unsupported();
      if (unsupported) return await this.fail('UnsupportedPodSpec', unsupported);
      await this.prepareVolumes();
      if (this.stopping) return await this.finish();
      this.setCondition('PodReadyToStartContainers', 'True');

      for (const c of this.spec.initContainers ?? []) {
        const code = await this.runWithRestarts(c, true);
        if (this.stopping) return await this.finish();
        if (code !== 0) {
          this.setCondition('Initialized', 'False', 'ContainersNotInitialized');
          return await this.fail(undefined, undefined);
        }
      }
      this.setCondition('Initialized', 'True');
      await this.writeStatus();

      const results = await Promise.all(this.spec.containers.map((c) => this.runWithRestarts(c, false)));
      if (this.phase === 'Failed') return await this.finish(); // deadline
      this.phase = results.every((r) => r === 0) ? 'Succeeded' : 'Failed';
      await this.finish();
    } catch (err) {
      if (this.deleted) return;
      this.podLog(`failed: ${err.stack ?? err}`);
      await this.fail('PodRunnerError', `the pod runner could not run this pod: ${err.message}`);
    }
  }

  unsupported() {
    for (const c of this.spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        return `init container ${c.name}: restartPolicy Always (a native sidecar) is not supported by the pod runner`;
      }
    }
    return undefined;
  }

  async fail(reason, message) {
    this.phase = 'Failed';
    if (reason) this.reason = reason;
    if (message) this.message = message;
    if (message) await this.event(reason ?? 'Failed', message, 'Warning');
    await this.finish();
  }

  async finish() {
    this.setCondition('Ready', 'False', 'PodCompleted');
    this.setCondition('ContainersReady', 'False', 'PodCompleted');
    this.setCondition('PodReadyToStartContainers', 'False');
    for (const s of this.statuses.values()) {
      s.ready = false;
      s.started = false;
    }
    if (this.phase !== 'Succeeded' && this.phase !== 'Failed') this.phase = 'Failed';
    clearTimeout(this.deadlineTimer);
    this.stopTokenRefresh();
    this.podLog(`phase ${this.phase}`);
    await this.writeStatus();
    this.done = true;
    if (this.pod.metadata.deletionTimestamp) await this.deleteNow();
  }

  armDeadline() {
    const s = this.spec.activeDeadlineSeconds;
    if (!s) return;
    const end = Date.parse(this.startTime) + s * 1000;
    // setTimeout fires at once for a delay past 2^31-1 ms (~24.8 days, with only a warning): a pod with a long
    // deadline (a backfill's 30 days) would fail at its start. Wait in steps below that instead.
    const MAX_DELAY = 2 ** 31 - 1;
    const wait = () => {
      const left = end - Date.now();
      this.deadlineTimer = setTimeout(left > MAX_DELAY ? wait : expire, Math.min(Math.max(0, left), MAX_DELAY));
    };
    const expire = () => {
      if (this.done || this.stopping) return;
      this.reason = 'DeadlineExceeded';
      this.message = `Pod was active on the node longer than the specified deadline`;
      this.phase = 'Failed';
      void this.event('DeadlineExceeded', this.message, 'Warning');
      void this.stopContainers(this.spec.terminationGracePeriodSeconds ?? 30);
    };
    wait();
  }

  /** The Pod changed (watch event). A deletion stops it as a kubelet would. */
  update(pod) {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp && !this.terminating) {
      this.terminating = true;
      const grace = pod.metadata.deletionGracePeriodSeconds ?? this.spec.terminationGracePeriodSeconds ?? 30;
      void (async () => {
        if (!this.done) {
          await this.event('Killing', `Stopping the pod's containers (grace ${grace} s)`);
          await this.stopContainers(grace);
          await this.runPromise; // run() ends with finish(), which deletes
        }
        await this.deleteNow();
      })();
    }
  }

  /** SIGTERM to each running container's process group, SIGKILL to all its processes after the grace period. */
  async stopContainers(graceSeconds) {
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

  async deleteNow() {
    if (this.deleted || this.deleting) return;
    this.deleting = true;
    await this.statusChain;
    try {
      await this.kube.request('DELETE', this.path, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (err) {
      if (err.status !== 404 && err.status !== 409) this.podLog(`delete failed: ${err.message}`);
    }
  }

  /** The Pod is gone from the API server: whatever still runs is killed, and its volumes removed (logs stay). */
  gone() {
    this.deleted = true;
    this.stopping = true;
    for (const p of this.procs.values()) p.killAll();
    clearTimeout(this.deadlineTimer);
    this.stopTokenRefresh();
    void Promise.all([...this.procs.values()].map((p) => p.exited)).then(() => {
      rmSync(join(this.dir, 'volumes'), { recursive: true, force: true });
      this.podLog('deleted');
    });
  }

  // --- volumes ----------------------------------------------------------------------------------------------

  volumeDir(name) {
    return join(this.dir, 'volumes', name);
  }

  async prepareVolumes() {
    for (let attempt = 0; ; attempt++) {
      try {
        this.volumes = new Map();
        for (const v of this.spec.volumes ?? []) this.volumes.set(v.name, await this.prepareVolume(v));
        return;
      } catch (err) {
        if (!(err instanceof ConfigError) || this.stopping) throw err;
        if (attempt === 0 || attempt % 12 === 0) await this.event('FailedMount', err.message, 'Warning');
        await sleep(5000); // the kubelet also waits for the object to appear
        if (this.stopping) return;
      }
    }
  }

  async getObject(kind, name, optional) {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.ns)}/${kind}s/${encodeURIComponent(name)}`;
    try {
      return await this.kube.get(path);
    } catch (err) {
      if (err.status === 404) {
        if (optional) return undefined;
        throw new ConfigError(`${kind} "${name}" not found`);
      }
      throw err;
    }
  }

  static objectData(kind, obj) {
    const data = {};
    if (kind === 'secret') for (const [k, v] of Object.entries(obj?.data ?? {})) data[k] = Buffer.from(v, 'base64');
    else {
      for (const [k, v] of Object.entries(obj?.data ?? {})) data[k] = Buffer.from(v, 'utf8');
      for (const [k, v] of Object.entries(obj?.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
    }
    return data;
  }

  writeFile(dir, rel, content, mode) {
    const target = join(dir, posix.normalize(rel));
    if (!target.startsWith(dir + '/')) throw new Error(`volume file path ${rel}: must stay inside the volume`);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    writeFileSync(tmp, content);
    chmodSync(tmp, mode & 0o777);
    renameSync(tmp, target); // readers never see half a token
  }

  async projectKeys(dir, kind, source, defaultMode, volumeName) {
    const name = kind === 'secret' ? (source.secretName ?? source.name) : source.name;
    const obj = await this.getObject(kind, name, source.optional);
    const data = PodWorker.objectData(kind, obj);
    if (source.items?.length) {
      for (const item of source.items) {
        if (!(item.key in data)) {
          if (source.optional) continue;
          throw new ConfigError(`volume ${volumeName}: ${kind} "${name}" has no key "${item.key}"`);
        }
        this.writeFile(dir, item.path, data[item.key], item.mode ?? defaultMode);
      }
    } else for (const [k, v] of Object.entries(data)) this.writeFile(dir, k, v, defaultMode);
  }

  projectDownward(dir, items, defaultMode) {
    for (const item of items ?? []) {
      let value;
      if (item.fieldRef) value = fieldRefValue(this.pod, item.fieldRef.fieldPath);
      else if (item.resourceFieldRef) {
        const c =
          this.spec.containers.find((x) => x.name === item.resourceFieldRef.containerName) ?? this.spec.containers[0];
        value = resourceFieldRefValue(this.pod, c, item.resourceFieldRef, this.runner.nodeOf(this.spec.nodeName));
      } else continue;
      this.writeFile(dir, item.path, value, item.mode ?? defaultMode);
    }
  }

  async requestToken(source) {
    const sa = this.spec.serviceAccountName || 'default';
    const spec = {
      expirationSeconds: source.expirationSeconds ?? 3600,
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: this.name, uid: this.uid },
    };
    if (source.audience) spec.audiences = [source.audience];
    const tr = await this.kube.request(
      'POST',
      `/api/v1/namespaces/${encodeURIComponent(this.ns)}/serviceaccounts/${encodeURIComponent(sa)}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
    );
    return tr.status;
  }

  async projectToken(dir, source, defaultMode) {
    const write = async () => {
      const st = await this.requestToken(source);
      this.writeFile(dir, source.path, st.token, defaultMode);
      return Date.parse(st.expirationTimestamp) - Date.now();
    };
    const ttl = await write();
    // As the kubelet does: a fresh token at 80% of its lifetime, so long pods keep a valid one.
    const schedule = (ms) => {
      const t = setTimeout(
        async () => {
          if (this.done || this.deleted) return;
          try {
            schedule((await write()) * 0.8);
          } catch (err) {
            this.podLog(`token refresh failed: ${err.message}`);
            schedule(30_000);
          }
        },
        Math.max(10_000, ms),
      );
      this.tokenTimers.push(t);
    };
    schedule(ttl * 0.8);
  }

  stopTokenRefresh() {
    for (const t of this.tokenTimers) clearTimeout(t);
    this.tokenTimers = [];
  }

  async prepareVolume(v) {
    const dir = this.volumeDir(v.name);
    mkdirSync(dir, { recursive: true });
    if (v.emptyDir) return { path: dir }; // medium: Memory is a folder on disk too; sizeLimit is not enforced
    if (v.configMap) {
      await this.projectKeys(dir, 'configmap', v.configMap, v.configMap.defaultMode ?? 0o644, v.name);
      return { path: dir };
    }
    if (v.secret) {
      await this.projectKeys(dir, 'secret', v.secret, v.secret.defaultMode ?? 0o644, v.name);
      return { path: dir };
    }
    if (v.downwardAPI) {
      this.projectDownward(dir, v.downwardAPI.items, v.downwardAPI.defaultMode ?? 0o644);
      return { path: dir };
    }
    if (v.projected) {
      const mode = v.projected.defaultMode ?? 0o644;
      for (const src of v.projected.sources ?? []) {
        if (src.serviceAccountToken) await this.projectToken(dir, src.serviceAccountToken, mode);
        else if (src.configMap) await this.projectKeys(dir, 'configmap', src.configMap, mode, v.name);
        else if (src.secret) await this.projectKeys(dir, 'secret', src.secret, mode, v.name);
        else if (src.downwardAPI) this.projectDownward(dir, src.downwardAPI.items, mode);
        else
          throw new Error(
            `volume ${v.name}: projected source ${Object.keys(src).join(',')} is not supported by the pod runner`,
          );
      }
      return { path: dir };
    }
    if (v.hostPath) {
      const p = v.hostPath.path;
      if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(p, { recursive: true });
      if (v.hostPath.type === 'FileOrCreate' && !existsSync(p)) {
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, '');
      }
      return { path: p };
    }
    if (v.persistentVolumeClaim) {
      // A claim is a folder shared by every pod that mounts it (no storage provisioning).
      const p = join(this.runner.stateDir, 'pvcs', this.ns, v.persistentVolumeClaim.claimName);
      mkdirSync(p, { recursive: true });
      return { path: p };
    }
    const kind = Object.keys(v)
      .filter((k) => k !== 'name')
      .join(',');
    throw new Error(
      `volume ${v.name}: type ${kind} is not supported by the pod runner (emptyDir, configMap, ` +
        `secret, downwardAPI, projected, hostPath and persistentVolumeClaim are)`,
    );
  }

  // --- containers -------------------------------------------------------------------------------------------

  async buildEnv(c) {
    const port = this.runner.config.apiServerPort;
    const env = {
      PATH: `${this.runner.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOSTNAME: this.name,
      // Not the runner's HOME: a pod must not find this machine's ~/.aws or ~/.kube.
      HOME: join(this.dir, 'home', c.name),
      ...imageInfo(c.image).env,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(port),
      KUBERNETES_SERVICE_PORT_HTTPS: String(port),
      KUBERNETES_PORT: `tcp://127.0.0.1:${port}`,
      KUBERNETES_PORT_443_TCP: `tcp://127.0.0.1:${port}`,
      KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
      KUBERNETES_PORT_443_TCP_PORT: String(port),
      KUBERNETES_PORT_443_TCP_ADDR: '127.0.0.1',
    };
    mkdirSync(env.HOME, { recursive: true });
    const validName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
    for (const from of c.envFrom ?? []) {
      const kind = from.secretRef ? 'secret' : 'configmap';
      const ref = from.secretRef ?? from.configMapRef;
      const obj = await this.getObject(kind, ref.name, ref.optional);
      for (const [k, v] of Object.entries(PodWorker.objectData(kind, obj))) {
        const name = (from.prefix ?? '') + k;
        if (validName.test(name)) env[name] = v.toString('utf8');
      }
    }
    const declared = {};
    for (const e of c.env ?? []) {
      let value;
      if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
        const kind = e.valueFrom.secretKeyRef ? 'secret' : 'configmap';
        const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef;
        const obj = await this.getObject(kind, ref.name, ref.optional);
        const data = PodWorker.objectData(kind, obj);
        if (!(ref.key in data)) {
          if (ref.optional) continue;
          throw new ConfigError(
            `couldn't find key ${ref.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${this.ns}/${ref.name}`,
          );
        }
        value = data[ref.key].toString('utf8');
      } else if (e.valueFrom?.fieldRef) value = fieldRefValue(this.pod, e.valueFrom.fieldRef.fieldPath);
      else if (e.valueFrom?.resourceFieldRef) {
        value = resourceFieldRefValue(
          this.pod,
          c,
          e.valueFrom.resourceFieldRef,
          this.runner.nodeOf(this.spec.nodeName),
        );
      } else value = expand(e.value ?? '', (n) => declared[n] ?? (n in env ? env[n] : undefined));
      declared[e.name] = value;
      env[e.name] = value;
    }
    return env;
  }

  commandLine(c, env) {
    const img = imageInfo(c.image);
    const lookup = (n) => env[n];
    let argv;
    if (c.command?.length) argv = [...c.command, ...(c.args ?? [])];
    else if (img.entrypoint) argv = [...img.entrypoint, ...(c.args ?? img.cmd)];
    else {
      throw new Error(
        `container ${c.name}: no command, and the pod runner has no image to take an entrypoint ` +
          `from (image ${c.image}); set command`,
      );
    }
    return argv.map((a) => expand(a, lookup));
  }

  /** The shell script that sets a container's mounts up inside its own mount namespace, then execs it. */
  setupScript(c, env, ctrDir, cgroup) {
    const lines = ['fail() { printf %s "$1" > ' + shq(join(ctrDir, 'start-error')) + '; exit 128; }'];
    if (cgroup) lines.push(`echo $$ > ${shq(join(cgroup, 'cgroup.procs'))} 2>/dev/null || true`);
    const mounts = [...(c.volumeMounts ?? [])];
    // A termination-message file per container, as the kubelet bind-mounts one.
    const termPath = c.terminationMessagePath || '/dev/termination-log';
    const termFile = join(ctrDir, 'termination-log');
    writeFileSync(termFile, '');
    const binds = [];
    // The image's files first (see cluster.mjs, makeRunnerBin): bound before the volumes, so a /tmp emptyDir cannot
    // hide a checkout that lives under /tmp.
    const image = this.runner.config.image;
    if (image) binds.push({ src: image.source, dst: image.root, ro: true, first: true });
    for (const m of mounts) {
      const vol = this.volumes.get(m.name);
      if (!vol) throw new Error(`container ${c.name}: volumeMount ${m.name}: no volume of that name in the pod`);
      let src = vol.path;
      const sub = m.subPathExpr ? expand(m.subPathExpr, (n) => env[n]) : m.subPath;
      if (sub) {
        if (sub.startsWith('/') || sub.split('/').includes('..')) {
          throw new Error(
            `container ${c.name}: volumeMount ${m.name}: subPath ${sub} must be a relative path inside the volume`,
          );
        }
        src = join(src, sub);
        if (!existsSync(src)) mkdirSync(src, { recursive: true }); // the kubelet creates a missing subPath too
      }
      binds.push({ src, dst: posix.normalize(m.mountPath), ro: !!m.readOnly });
    }
    binds.push({ src: termFile, dst: termPath, ro: false });
    // Parents before children (/mainctrfs before /mainctrfs/tmp), as the container runtime orders them.
    binds.sort((a, b) => Number(!!b.first) - Number(!!a.first) || a.dst.split('/').length - b.dst.split('/').length);
    for (const b of binds) {
      const isFile = statSync(b.src).isFile();
      const mk = isFile
        ? `{ [ -e ${shq(b.dst)} ] || { mkdir -p ${shq(posix.dirname(b.dst))} && : > ${shq(b.dst)}; }; }`
        : `mkdir -p ${shq(b.dst)}`;
      lines.push(
        `${mk} && mount --bind ${shq(b.src)} ${shq(b.dst)} || fail ${shq(`cannot mount ${b.src} at ${b.dst}`)}`,
      );
      if (b.ro) lines.push(`mount -o remount,bind,ro ${shq(b.dst)} || fail ${shq(`cannot make ${b.dst} read-only`)}`);
    }
    const wd = c.workingDir || join(this.dir, 'home', c.name);
    lines.push(`mkdir -p ${shq(wd)} && cd ${shq(wd)} || fail ${shq(`cannot change to workingDir ${wd}`)}`);
    lines.push(`command -v "$1" >/dev/null 2>&1 || fail "exec: \\"$1\\": executable file not found in \\$PATH"`);
    lines.push('exec "$@"');
    return lines.join('\n');
  }

  /** Runs a container until it ends for good under the pod's restartPolicy; returns its last exit code. */
  async runWithRestarts(c, init) {
    const policy = this.spec.restartPolicy ?? 'Always';
    for (let restart = 0; ; restart++) {
      const code = await this.runContainer(c, init, restart);
      if (this.stopping || this.deleted) return code;
      const again = policy === 'Always' ? !init || code !== 0 : policy === 'OnFailure' ? code !== 0 : false;
      if (!again) return code;
      const s = this.containerStatus(c, init);
      s.lastState = { terminated: s.state.terminated };
      s.restartCount = restart + 1;
      const backoff = Math.min(300, 10 * 2 ** restart);
      s.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${backoff}s restarting failed container=${c.name} pod=${this.name}`,
        },
      };
      await this.writeStatus();
      const end = Date.now() + backoff * 1000;
      while (Date.now() < end && !this.stopping) await sleep(500);
      if (this.stopping) return code;
    }
  }

  async runContainer(c, init, restart) {
    const s = this.containerStatus(c, init);
    let env;
    let argv;
    for (let attempt = 0; ; attempt++) {
      if (this.stopping) return 137;
      try {
        env = await this.buildEnv(c);
        argv = this.commandLine(c, env);
        break;
      } catch (err) {
        if (!(err instanceof ConfigError)) {
          s.state = {
            terminated: {
              exitCode: 128,
              reason: 'StartError',
              message: err.message,
              startedAt: null,
              finishedAt: now(),
            },
          };
          await this.event('Failed', `Error: ${err.message}`, 'Warning');
          await this.writeStatus();
          return 128;
        }
        // The kubelet keeps such a pod Pending and tries again; so do we, until the Secret/ConfigMap exists.
        s.state = { waiting: { reason: 'CreateContainerConfigError', message: err.message } };
        if (attempt === 0) {
          await this.event('Failed', `Error: ${err.message}`, 'Warning');
          await this.writeStatus();
        }
        await sleep(5000);
      }
    }

    const ctrDir = join(this.dir, 'containers', `${c.name}-${restart}`);
    mkdirSync(ctrDir, { recursive: true });
    rmSync(join(ctrDir, 'start-error'), { force: true });
    const cgroup = this.runner.cgroupBase
      ? join(this.runner.cgroupBase, `${this.uid}_${c.name}_${restart}`)
      : undefined;
    if (cgroup) mkdirSync(cgroup, { recursive: true });
    let script;
    try {
      script = this.setupScript(c, env, ctrDir, cgroup);
    } catch (err) {
      s.state = {
        terminated: { exitCode: 128, reason: 'StartError', message: err.message, startedAt: null, finishedAt: now() },
      };
      await this.event('Failed', `Error: ${err.message}`, 'Warning');
      await this.writeStatus();
      return 128;
    }
    writeFileSync(join(ctrDir, 'argv.json'), JSON.stringify(argv));
    const logs = join(this.dir, 'logs');
    const out = openSync(join(logs, `${c.name}.stdout`), 'a');
    const errFd = openSync(join(logs, `${c.name}.stderr`), 'a');
    const startedAt = now();
    // Each container gets its own pid namespace as well as its own mount namespace, as under a real runtime:
    // the command is pid 1 there, so SIGTERM reaches it only if it handles SIGTERM, and when it exits the
    // kernel ends whatever it left behind. More than realism: Argo's emissary forwards signals with kill(-1, …)
    // (its child's pid after Process.Release), which on the host would signal every process of the machine.
    const child = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        script,
        'sh',
        ...argv,
      ],
      { env, cwd: this.dir, detached: true, stdio: ['ignore', out, errFd] },
    );
    closeSync(out);
    closeSync(errFd);
    let killed = false;
    const exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', (err) => resolve({ code: 128, signal: null, error: err }));
    });
    const initPid = await nsInitPid(child.pid);
    const initStart = initPid ? procStartTime(initPid) : undefined;
    const signalInit = (sig) => {
      // Only the container's pid 1, and only while it is the process we started (pids are recycled).
      if (!initPid || procStartTime(initPid) !== initStart) return;
      try {
        process.kill(initPid, sig);
      } catch {
        /* gone */
      }
    };
    const killAll = () => {
      killed = true;
      signalInit('SIGKILL'); // pid 1 of a pid namespace dying takes every process in it along
      if (cgroup) killPids(cgroupPids(cgroup), 'SIGKILL');
    };
    const proc = { child, exited, signal: signalInit, killAll, cgroup };
    this.procs.set(c.name, proc);
    // unshare's pid, the container's pid 1, and their start times: `down` kills what is left by them, and a
    // recycled pid never matches.
    writeFileSync(
      join(ctrDir, 'pid'),
      `${child.pid} ${procStartTime(child.pid) ?? ''} ${initPid ?? ''} ${initStart ?? ''}\n`,
    );
    s.containerID = `local://${initPid ?? child.pid}`;
    s.state = { running: { startedAt } };
    s.started = true;
    s.ready = !init;
    if (!init) this.updateReady();
    this.podLog(`container ${c.name} started`, { pid: initPid ?? child.pid, argv: argv.join(' ').slice(0, 300) });
    await this.writeStatus();

    let { code, signal, error } = await exited;
    this.procs.delete(c.name);
    if (cgroup) {
      killPids(cgroupPids(cgroup), 'SIGKILL'); // a process that left the namespace's process tree, if any
      for (let i = 0; i < 50 && cgroupPids(cgroup).length; i++) await sleep(100);
      try {
        rmdirSync(cgroup);
      } catch {
        /* still busy: `down` sweeps it */
      }
    }
    // unshare (util-linux 2.38) passes on its child's exit code and re-raises a fatal signal, except SIGKILL,
    // which it cannot re-raise: it then exits 1 after "unshare: sigprocmask unblock failed".
    if (
      code === 1 &&
      (killed || tail(join(logs, `${c.name}.stderr`), 200).includes('unshare: sigprocmask unblock failed'))
    ) {
      code = null;
      signal = 'SIGKILL';
    }
    let exitCode = code ?? 128 + (osConstants.signals[signal] ?? 0);
    if (!init) this.argoExitCode(c, exitCode);
    let reason = exitCode === 0 ? 'Completed' : 'Error';
    let message;
    const startError = existsSync(join(ctrDir, 'start-error')) ? readFileSync(join(ctrDir, 'start-error'), 'utf8') : '';
    if (error || startError) {
      reason = 'StartError';
      exitCode = 128;
      message = error ? `cannot start unshare: ${error.message}` : startError;
    } else {
      message = readFileSync(join(ctrDir, 'termination-log'), 'utf8').slice(0, 4096) || undefined;
      if (!message && exitCode !== 0 && c.terminationMessagePolicy === 'FallbackToLogsOnError') {
        message = tail(join(logs, `${c.name}.stderr`), 2048) || tail(join(logs, `${c.name}.stdout`), 2048) || undefined;
      }
    }
    s.state = { terminated: { exitCode, reason, startedAt, finishedAt: now(), containerID: s.containerID } };
    if (signal) s.state.terminated.signal = osConstants.signals[signal];
    if (message) s.state.terminated.message = message;
    s.ready = false;
    s.started = false;
    this.podLog(`container ${c.name} exited`, { exitCode, reason, ...(signal ? { signal } : {}) });
    if (!init) this.updateReady();
    await this.writeStatus();
    return exitCode;
  }

  /**
   * Argo's wait sidecar learns that a container ended from /var/run/argo/ctr/NAME/exitcode, which the emissary
   * writes as it exits. When the emissary itself was killed (SIGKILL of the container's pid 1), nothing writes it,
   * and on a cluster Argo's controller would then stop the wait container through pods/exec, which needs a
   * kubelet API this runner does not have; so the runner writes the exit code itself, and the wait container
   * reports the step as failed instead of waiting for ever.
   */
  argoExitCode(c, exitCode) {
    const m = (c.volumeMounts ?? []).find((x) => posix.normalize(x.mountPath) === '/var/run/argo' && !x.subPath);
    const vol = m && this.volumes.get(m.name);
    if (!vol) return;
    const file = join(vol.path, 'ctr', c.name, 'exitcode');
    if (existsSync(file)) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, String(exitCode));
      this.podLog(`container ${c.name}: no exit code from Argo's emissary; wrote ${exitCode} to ${file}`);
    } catch (err) {
      this.podLog(`container ${c.name}: cannot write ${file}: ${err.message}`);
    }
  }

  updateReady() {
    const all = this.spec.containers.map((c) => this.statuses.get(c.name));
    const ready = all.every((s) => s?.ready);
    this.setCondition('ContainersReady', ready ? 'True' : 'False', ready ? undefined : 'ContainersNotReady');
    this.setCondition('Ready', ready ? 'True' : 'False', ready ? undefined : 'ContainersNotReady');
    if (all.some((s) => s?.state.running) && this.phase === 'Pending') this.phase = 'Running';
  }
}

/** The host pid of the process `unshare --fork` (pid) started: pid 1 of the new pid namespace. */
async function nsInitPid(pid) {
  for (let i = 0; i < 200; i++) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      if (kids) return Number(kids.split(' ')[0]);
    } catch {
      return undefined; // unshare already exited
    }
    await sleep(10);
  }
  return undefined;
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
export function procStartTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function tail(file, bytes) {
  try {
    const b = readFileSync(file);
    return b.subarray(Math.max(0, b.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------------------

class PodRunner {
  constructor(config) {
    this.config = config;
    this.kube = new Kube(config.kubeconfig);
    this.stateDir = config.stateDir;
    this.podsDir = join(config.stateDir, 'pods');
    this.binDir = config.binDir;
    this.nodes = new Map(config.nodes.map((n) => [n.name, n]));
    this.workers = new Map(); // pod uid -> PodWorker
    this.finished = new Set(); // uids whose pods ran to the end here (terminal pods are not run again)
    mkdirSync(this.podsDir, { recursive: true });
    this.cgroupBase = pickCgroupBase(this.stateDir);
    writeFileSync(join(this.stateDir, 'cgroup'), this.cgroupBase ?? '');
    log(
      this.cgroupBase
        ? `tracking container processes in ${this.cgroupBase}`
        : 'no writable cgroup: tracking containers by process group',
    );
  }

  nodeOf(name) {
    return this.nodes.get(name);
  }

  // --- nodes ------------------------------------------------------------------------------------------------

  nodeStatus(n, heartbeat) {
    const cond = (type, status, reason, message) => ({
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
        containerRuntimeVersion: 'local://0',
        kubeletVersion: this.config.kubeletVersion ?? 'v1.34.4',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }

  async registerNodes() {
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
        if (err.status !== 404) throw err;
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

  async heartbeat() {
    for (const n of this.nodes.values()) {
      try {
        await this.kube.mergePatch(`/api/v1/nodes/${encodeURIComponent(n.name)}/status`, {
          status: this.nodeStatus(n, now()),
        });
      } catch (err) {
        log(`node ${n.name}: heartbeat failed: ${err.message}`);
      }
    }
  }

  // --- pods -------------------------------------------------------------------------------------------------

  onPod(type, pod) {
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
    if (!this.nodes.has(pod.spec?.nodeName)) return;
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
      void this.orphan(pod);
      return;
    }
    const w = new PodWorker(this, pod);
    this.workers.set(uid, w);
    w.runPromise = w.run().finally(() => this.finished.add(uid));
    if (pod.metadata.deletionTimestamp) w.update(pod);
  }

  async deleteTerminal(pod) {
    const ns = encodeURIComponent(pod.metadata.namespace);
    const path = `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod.metadata.name)}`;
    try {
      await this.kube.request('DELETE', path, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (err) {
      if (err.status !== 404 && err.status !== 409)
        log(`pod ${pod.metadata.namespace}/${pod.metadata.name}: delete failed: ${err.message}`);
    }
  }

  async orphan(pod) {
    this.finished.add(pod.metadata.uid);
    const w = new PodWorker(this, pod);
    w.startTime = pod.status?.startTime ?? now();
    for (const cs of pod.status?.conditions ?? []) w.conditions.set(cs.type, cs);
    await w.fail('NodeLost', 'the pod runner restarted while this pod ran; its processes were lost');
  }

  /** List, then watch from the list's resourceVersion; a watch that ends is resumed, a 410 Gone lists again. */
  async watchPods() {
    const watch = new Watch(this.kube.kc);
    for (;;) {
      let rv;
      try {
        const list = await this.kube.get('/api/v1/pods');
        rv = list.metadata.resourceVersion;
        const seen = new Set();
        this.initialList = this.firstList === undefined;
        this.firstList = false;
        for (const pod of list.items) {
          seen.add(pod.metadata.uid);
          this.onPod('MODIFIED', pod);
        }
        this.initialList = false;
        for (const [uid, w] of this.workers) if (!seen.has(uid)) this.onPod('DELETED', w.pod);
      } catch (err) {
        log(`listing pods failed: ${err.message}; again in 2 s`);
        await sleep(2000);
        continue;
      }
      for (;;) {
        const result = await new Promise((resolve) => {
          let gone = false;
          watch
            .watch(
              '/api/v1/pods',
              { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 300 },
              (type, obj) => {
                if (type === 'ERROR') {
                  if (obj?.code === 410) gone = true;
                  return;
                }
                if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
                if (type !== 'BOOKMARK') this.onPod(type, obj);
              },
              (err) => resolve({ err, gone }),
            )
            .catch((err) => resolve({ err, gone }));
        });
        if (result.gone) break; // list again
        if (result.err) {
          log(`pod watch ended: ${result.err.message ?? result.err}; resuming`);
          await sleep(1000);
          if (result.err.statusCode === 410) break;
        }
      }
    }
  }

  async stopAll() {
    const all = [...this.workers.values()];
    for (const w of all) for (const p of w.procs.values()) p.signal('SIGTERM');
    await Promise.race([Promise.all(all.flatMap((w) => [...w.procs.values()].map((p) => p.exited))), sleep(5000)]);
    for (const w of all) for (const p of w.procs.values()) p.killAll();
  }
}

/** Kills what is left in a runner's cgroups (for `down`, after the runner itself is gone). */
export function sweepCgroups(stateDir) {
  let base;
  try {
    base = readFileSync(join(stateDir, 'cgroup'), 'utf8').trim();
  } catch {
    return 0;
  }
  if (!base || !existsSync(base)) return 0;
  let killed = 0;
  for (const d of readdirSync(base)) {
    const dir = join(base, d);
    const pids = cgroupPids(dir);
    killed += pids.length;
    killPids(pids, 'SIGKILL');
  }
  return killed;
}

/** Removes the runner's (now empty) cgroups. */
export function removeCgroups(stateDir) {
  let base;
  try {
    base = readFileSync(join(stateDir, 'cgroup'), 'utf8').trim();
  } catch {
    return;
  }
  if (!base || !existsSync(base)) return;
  for (const d of readdirSync(base)) {
    try {
      rmdirSync(join(base, d));
    } catch {
      /* busy */
    }
  }
  try {
    rmdirSync(base);
  } catch {
    /* busy */
  }
}

async function main() {
  const configPath = process.argv[2];
  if (!configPath) {
    process.stderr.write('usage: node scripts/cluster/podRunner.mjs CONFIG.json\n');
    process.exit(64);
  }
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  const runner = new PodRunner(config);
  let stopping = false;
  const stop = async (sig) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping the containers`);
    await runner.stopAll();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  for (;;) {
    try {
      await runner.registerNodes();
      break;
    } catch (err) {
      log(`registering nodes failed: ${err.message}; again in 1 s`);
      await sleep(1000);
    }
  }
  setInterval(() => void runner.heartbeat(), (config.heartbeatSeconds ?? 20) * 1000).unref();
  writeFileSync(join(config.stateDir, 'ready'), now());
  log(`nodes ${[...runner.nodes.keys()].join(', ')} ready; watching pods`);
  await runner.watchPods();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    log(`pod runner failed: ${err.stack ?? err}`);
    process.exit(70);
  });
}
