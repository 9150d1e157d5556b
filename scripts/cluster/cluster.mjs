#!/usr/bin/env node
/**
 * `npm run cluster -- up|down|status` (issue 12): a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) and the real Argo Workflows controller, as local processes on loopback
 * ports, plus the pod runner (scripts/cluster/runner/), a kubelet stand-in that runs the pods scheduled to its fake
 * Nodes, each container in the root file system of the image its pod names (buildah's local storage: the worker
 * image `npm run image:build` made, and a stand-in for Argo's executor image that `up` makes from the stack's
 * argoexec). The binaries come from scripts/cluster/build.sh (built once into a cache).
 *
 *   eval "$(npm run -s cluster -- up | tail -n 1)"     # starts it, then: export KUBECONFIG=<state>/kubeconfig
 *   npm run cluster -- status                          # each component: pid, port, healthy or not
 *   npm run cluster -- down                            # stops everything `up` started, and the pods' processes
 *
 * Options: --stack NAME (which versions: `current`, the default, or `lts`; BATCHSCORE_STACK=NAME does the same; see
 * scripts/cluster/build.sh), --dir DIR (state folder; default ${XDG_STATE_HOME:-~/.local/state}/batchscore/cluster),
 * --bin DIR (the binaries; default: what build.sh prints for the stack), --gpu-product NAME (gpu-node-1's
 * nvidia.com/gpu.product label, default NVIDIA-A10G, the one examples/credit-risk.yaml asks for), --gpus N
 * (gpu-node-1's nvidia.com/gpu, default 1), --requeue-time D (the Argo controller's DEFAULT_REQUEUE_TIME, default
 * 1s; upstream's default is 10s), --json (status as JSON, with the stack and each component's version), --pods-from
 * image|checkout (BATCHSCORE_PODS_FROM; default image: pods run from their images; checkout is a development switch:
 * pods run this checkout's CLI on this machine's Node and root file system).
 *
 * Everything listens on 127.0.0.1 only, except two ports the Argo controller binds on all interfaces because it
 * cannot be told otherwise: its health server (:6060, fixed) and its metrics server (a free port, set in its
 * ConfigMap). Nothing here sends traffic anywhere but 127.0.0.1: the Service range 10.96.0.0/16 is only a
 * number the API server needs; no Service IP is ever dialled. Progress goes to stderr; the only stdout line is
 * the last one, `export KUBECONFIG=...`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
const posixJoin = posix.join;
import { fileURLToPath, pathToFileURL } from 'node:url';
// The pod runner and the image tools are TypeScript, loaded through scripts/tsLoader.mjs's hooks (registered by
// this import, so only imports after it, the dynamic ones below, see them).
import '../tsLoader.mjs';

const { procStartTime, removeCgroups, sweepCgroups } = await import('./runner/processes.ts');
const { containerPrefix, removeWorkingContainers } = await import('./runner/images.ts');

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the pods see the checkout, with --pods-from checkout (see makeRunnerBin). */
const IMAGE_ROOT = '/opt/batchscore';
const MARKER = '.batchscore-cluster'; // a state folder we made, so that `up` may wipe it
const ARGO_HEALTH_PORT = 6060; // hard-wired in Argo's workflow-controller (cmd/workflow-controller/main.go)
const NAMESPACES = ['argo', 'batchscore'];
// Only what this cluster needs (names as kube-controller-manager v1.35 to v1.37 --help list them). No node lifecycle
// controller: the pod runner keeps its Nodes Ready itself, and nothing would mark them NotReady.
const CONTROLLERS = [
  'serviceaccount-controller', // the `default` ServiceAccount of each namespace
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller', // kube-root-ca.crt, which projected SA volumes read
  'garbage-collector-controller', // a deleted Workflow takes its pods and WorkflowTaskResults along
  'namespace-controller',
  'ttl-after-finished-controller',
  'job-controller', // the chart's post-install/post-upgrade hook (templates/cron-hook.yaml) is a Job
];

const say = (msg) => process.stderr.write(`cluster: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Arguments, state

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = {
    command,
    gpuProduct: 'NVIDIA-A10G',
    gpus: 1,
    requeueTime: '1s',
    stack: process.env.BATCHSCORE_STACK,
    podsFrom: process.env.BATCHSCORE_PODS_FROM || 'image',
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : rest[++i];
      if (v === undefined || v === '') throw new UsageError(`option ${a.split('=')[0]}: needs a value`);
      return v;
    };
    const name = a.split('=')[0];
    if (name === '--dir') opts.dir = resolve(value());
    else if (name === '--stack') opts.stack = value();
    else if (name === '--bin') opts.bin = resolve(value());
    else if (name === '--gpu-product') opts.gpuProduct = value();
    else if (name === '--gpus') {
      opts.gpus = Number(value());
      if (!Number.isInteger(opts.gpus) || opts.gpus < 1)
        throw new UsageError(`--gpus ${rest[i]}: expected a whole number >= 1`);
    } else if (name === '--requeue-time') {
      opts.requeueTime = value();
      if (!/^\d+(ms|s|m)$/.test(opts.requeueTime)) {
        throw new UsageError(`--requeue-time ${opts.requeueTime}: expected a Go duration such as 500ms, 1s or 10s`);
      }
    } else if (name === '--pods-from') opts.podsFrom = value();
    else if (name === '--json') opts.json = true;
    else throw new UsageError(`unknown option ${a}`);
  }
  if (!['up', 'down', 'status'].includes(command)) {
    throw new UsageError(
      `unknown command ${command === undefined ? '(none)' : JSON.stringify(command)}: expected up, down or status`,
    );
  }
  if (!['image', 'checkout'].includes(opts.podsFrom)) {
    throw new UsageError(`--pods-from ${opts.podsFrom}: expected image or checkout`);
  }
  opts.stack ||= 'current';
  const stacks = buildScript(['--list-stacks']).split('\n');
  if (!stacks.includes(opts.stack)) {
    throw new UsageError(
      `--stack ${opts.stack}: unknown stack (known: ${stacks.join(', ')}; see scripts/cluster/build.sh)`,
    );
  }
  opts.dir ??= join(process.env.XDG_STATE_HOME || join(homedir(), '.local/state'), 'batchscore', 'cluster');
  if (opts.dir === '/tmp' || opts.dir.startsWith('/tmp/')) {
    // Argo mounts an emptyDir at /tmp in its wait container, which would hide pod folders and binaries below it.
    throw new UsageError(`--dir ${opts.dir}: must not be under /tmp (pods mount their own /tmp over it)`);
  }
  return opts;
}

const statePath = (dir) => join(dir, 'state.json');

function readState(dir) {
  try {
    return JSON.parse(readFileSync(statePath(dir), 'utf8'));
  } catch {
    return undefined;
  }
}

function writeState(dir, state) {
  writeFileSync(statePath(dir), JSON.stringify(state, null, 2) + '\n');
}

function alive(proc) {
  if (!proc?.pid) return false;
  const start = procStartTime(proc.pid);
  if (start === undefined) return false;
  // A recycled pid is someone else's process.
  if (proc.start && start !== proc.start) return false;
  try {
    const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Binaries

/** scripts/cluster/build.sh with these arguments: its stdout (its messages go to our stderr). */
function buildScript(args) {
  const r = spawnSync('bash', [join(REPO, 'scripts/cluster/build.sh'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0)
    throw new Error(`scripts/cluster/build.sh ${args.join(' ')} failed (exit ${r.status}); see above`);
  return r.stdout.trim();
}

function findBinaries(opts) {
  let bin = opts.bin ?? process.env.BATCHSCORE_CLUSTER_BIN;
  if (!bin) {
    say(`finding the binaries of stack ${opts.stack} (scripts/cluster/build.sh; cold, a stack takes ~10-20 min) ...`);
    bin = buildScript(['--stack', opts.stack]).split('\n').pop();
  }
  const paths = {};
  for (const b of [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kubectl',
    'workflow-controller',
    'argoexec',
    'helm',
  ]) {
    paths[b] = join(bin, b);
  }
  // envtest convention: KUBEBUILDER_ASSETS names a folder with etcd and kube-apiserver; those win.
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && existsSync(join(assets, 'etcd')) && existsSync(join(assets, 'kube-apiserver'))) {
    paths.etcd = join(assets, 'etcd');
    paths['kube-apiserver'] = join(assets, 'kube-apiserver');
  }
  for (const [name, p] of Object.entries(paths)) {
    if (!existsSync(p))
      throw new Error(`binary ${name}: ${p} does not exist (build with scripts/cluster/build.sh, or pass --bin DIR)`);
  }
  const crds = join(dirname(bin), 'crds');
  if (!existsSync(crds))
    throw new Error(`Argo CRDs: ${crds} does not exist (scripts/cluster/build.sh puts them there)`);
  return { bin, paths, crds };
}

/**
 * What each binary says its version is (the first x.y.z it prints): the stack's versions as run, for `status` and
 * for the Argo executor image's tag.
 */
function componentVersions(paths) {
  const ask = {
    kubernetes: [paths['kube-apiserver'], ['--version']],
    kubectl: [paths.kubectl, ['version', '--client']],
    etcd: [paths.etcd, ['--version']],
    'argo-workflows': [paths['workflow-controller'], ['version']],
    helm: [paths.helm, ['version', '--short']],
  };
  const out = {};
  for (const [name, [cmd, args]] of Object.entries(ask)) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    const m = /v?(\d+\.\d+\.\d+)/.exec(`${r.stdout}${r.stderr}`);
    if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}, no version in its output`);
    out[name] = `v${m[1]}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Ports, certificates, kubeconfig

async function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Whether a port can be bound on all interfaces, as the Argo controller binds it. */
async function portFree(port) {
  return new Promise((res) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => res(false));
    srv.listen(port, () => srv.close(() => res(true)));
  });
}

function openssl(args, cwd) {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
}

function makePki(pki) {
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  openssl(['genrsa', '-out', 'ca.key', '2048'], pki);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=batchscore-cluster-ca',
      '-days',
      '3650',
      '-out',
      'ca.crt',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    pki,
  );
  const sign = (name, subj, ext) => {
    openssl(['genrsa', '-out', `${name}.key`, '2048'], pki);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`], pki);
    writeFileSync(join(pki, `${name}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '3650',
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      ],
      pki,
    );
  };
  // The API server's serving certificate: pods and tools reach it as 127.0.0.1 (in-cluster clients too, through
  // KUBERNETES_SERVICE_HOST); the kubernetes.default names only keep clients that use them from failing.
  sign(
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
      'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n',
  );
  // A client certificate for the admin too (--client-ca-file), for tools that want one; the kubeconfig uses the token.
  sign(
    'admin',
    '/O=system:masters/CN=batchscore-admin',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  openssl(['genrsa', '-out', 'sa.key', '2048'], pki);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], pki);
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(pki, 'tokens.csv'), `${token},batchscore-admin,batchscore-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  return token;
}

function writeKubeconfig(path, port, caFile, token) {
  const ca = readFileSync(caFile).toString('base64');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: batchscore',
      '    cluster:',
      `      server: https://127.0.0.1:${port}`,
      `      certificate-authority-data: ${ca}`,
      'users:',
      '  - name: batchscore-admin',
      '    user:',
      `      token: ${token}`,
      'contexts:',
      '  - name: batchscore',
      '    context:',
      '      cluster: batchscore',
      '      user: batchscore-admin',
      'current-context: batchscore',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Processes and health

function startProcess(dir, name, cmd, args, env = {}) {
  const logFile = join(dir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, {
    detached: true, // its own session: not killed with this shell, stopped by `down`
    stdio: ['ignore', fd, fd],
    env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...env },
  });
  closeSync(fd);
  child.unref();
  const proc = { pid: child.pid, start: procStartTime(child.pid), log: logFile, cmd: [cmd, ...args] };
  writeFileSync(join(dir, 'run', `${name}.pid`), `${child.pid}\n`);
  return proc;
}

function request(url, { ca, token, insecure } = {}) {
  return new Promise((res) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.get(
      u,
      {
        ca,
        rejectUnauthorized: !insecure,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        timeout: 3000,
      },
      (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => res({ status: r.statusCode, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => res({ status: 0, body: err.message }));
  });
}

function logTail(file, lines = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitFor(what, proc, check, timeoutMs = 120_000) {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const r = await check();
    if (r === true) return Date.now() - t0;
    last = typeof r === 'string' ? r : last;
    if (proc && !alive(proc)) {
      throw new Error(
        `${what}: the process exited before it was healthy; the end of ${proc.log}:\n${logTail(proc.log)}`,
      );
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `${what}: not healthy after ${timeoutMs / 1000} s${last ? ` (last answer: ${last})` : ''}` +
          (proc ? `; the end of ${proc.log}:\n${logTail(proc.log)}` : ''),
      );
    }
    await sleep(300);
  }
}

/** The health checks `up` waits for and `status` reports, per component. */
function healthChecks(state) {
  const ca = readFileSync(join(state.dir, 'pki', 'ca.crt'));
  const api = `https://127.0.0.1:${state.ports.apiserver}`;
  const ok = (r, pred = () => true) =>
    r.status === 200 && pred(r.body) ? true : `HTTP ${r.status} ${r.body.slice(0, 200)}`;
  const apiGet = (path) => request(api + path, { ca, token: state.token });
  return {
    etcd: async () =>
      ok(await request(`http://127.0.0.1:${state.ports.etcd}/health`), (b) => /"health":\s*"true"/.test(b)),
    'kube-apiserver': async () => ok(await apiGet('/readyz')),
    'kube-controller-manager': async () =>
      ok(await request(`https://127.0.0.1:${state.ports.controllerManager}/healthz`, { insecure: true })),
    'kube-scheduler': async () =>
      ok(await request(`https://127.0.0.1:${state.ports.scheduler}/healthz`, { insecure: true })),
    'workflow-controller': async () => {
      const m = await request(`http://127.0.0.1:${state.ports.argoMetrics}/metrics`);
      if (m.status !== 200) return `metrics HTTP ${m.status} ${m.body.slice(0, 100)}`;
      return ok(await request(`http://127.0.0.1:${ARGO_HEALTH_PORT}/healthz`));
    },
    'pod-runner': async () => {
      const r = await apiGet('/api/v1/nodes');
      if (r.status !== 200) return `nodes: HTTP ${r.status}`;
      const nodes = JSON.parse(r.body).items;
      for (const name of state.nodes.map((n) => n.name)) {
        const n = nodes.find((x) => x.metadata.name === name);
        if (!n) return `node ${name} not registered`;
        const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') return `node ${name} not Ready`;
        if (Date.now() - Date.parse(ready.lastHeartbeatTime) > 90_000)
          return `node ${name}: last heartbeat ${ready.lastHeartbeatTime}`;
        if ((n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready'))
          return `node ${name} still has the not-ready taint`;
      }
      return true;
    },
  };
}

function kubectl(state, args, input) {
  const t0 = Date.now();
  const r = spawnSync(state.paths.kubectl, ['--kubeconfig', state.kubeconfig, ...args], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: exit ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  if (process.env.CLUSTER_DEBUG) say(`kubectl ${args.slice(0, 3).join(' ')}: ${Date.now() - t0} ms`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------------------------
// up

function argoConfigMap(state) {
  const yaml = (lines) => lines.join('\n') + '\n';
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'workflow-controller-configmap', namespace: 'argo' },
    data: {
      // No executor resources: pods are local processes and nothing enforces them.
      executor: yaml(['imagePullPolicy: IfNotPresent']),
      // A port of our own instead of 9090; plain HTTP so that a test can scrape the custom metrics
      // (argo_workflows_batchscore_*) without TLS.
      metricsConfig: yaml(['enabled: true', `port: ${state.ports.argoMetrics}`, 'secure: false']),
      // The worker image's ENTRYPOINT (Dockerfile.worker), should a template leave its command out.
      images: yaml([
        'ghcr.io/batchscore/batchscore-worker:0.1.0-cpu:',
        '  entrypoint: [batchscore]',
        '  cmd: ["--help"]',
        'ghcr.io/batchscore/batchscore-worker:0.1.0-gpu:',
        '  entrypoint: [batchscore]',
        '  cmd: ["--help"]',
      ]),
    },
  });
}

function nodesConfig(opts) {
  return [
    {
      name: 'cpu-node-1',
      labels: {},
      taints: [],
      capacity: { cpu: '16', memory: '64Gi', pods: '110', 'ephemeral-storage': '100Gi' },
    },
    {
      name: 'gpu-node-1',
      labels: {
        'nvidia.com/gpu.product': opts.gpuProduct,
        'nvidia.com/gpu.present': 'true',
        'nvidia.com/gpu.count': String(opts.gpus),
      },
      // As GPU node pools are usually set up: only pods that tolerate it (batchscore's GPU score pods) land here.
      taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
      capacity: {
        cpu: '16',
        memory: '128Gi',
        pods: '110',
        'ephemeral-storage': '100Gi',
        'nvidia.com/gpu': String(opts.gpus),
      },
    },
  ];
}

/**
 * Where the pods' containers take their files from, and the Argo executor image the controller is to name.
 * `image` (the default): the worker image from buildah's storage (built by `npm run image:build`; `up` refuses to
 * start without it), the gpu image run from the cpu image where it is not built (its CUDA base cannot be made
 * here), and a stand-in for Argo's executor image made from the stack's argoexec. `checkout`: this checkout and this
 * machine's Node, argoexec from PATH.
 */
async function podSources(state, opts) {
  if (opts.podsFrom === 'checkout') {
    say(
      "pods run from this checkout on this machine's Node (--pods-from checkout, a development switch), " +
        'not from the worker image',
    );
    return {
      // never pulled: the pod runner runs argoexec from PATH
      executorImage: `quay.io/argoproj/argoexec:${state.versions['argo-workflows']}`,
      pods: { from: 'checkout', binDir: makeRunnerBin(state), source: REPO, root: IMAGE_ROOT },
      describe: { from: 'checkout' },
    };
  }
  const { inspectImage } = await import('../image/buildah.ts');
  const { DEFAULT_IMAGES } = await import('../../packages/core/src/images.ts');
  const { argoexecVersion, ensureArgoexecImage, executorImageRef } = await import('../image/argoexecImage.ts');
  const cpu = await inspectImage(DEFAULT_IMAGES.cpu);
  if (!cpu) {
    throw new UsageError(
      `the worker image ${DEFAULT_IMAGES.cpu} is not in buildah's local storage, and pods run from it: ` +
        'build it (`npm run image:build -- --target cpu`), or run pods from this checkout (--pods-from checkout)',
    );
  }
  const executorImage = executorImageRef(await argoexecVersion(state.paths.argoexec));
  const t = Date.now();
  if (await ensureArgoexecImage(state.paths.argoexec, executorImage)) {
    say(`made ${executorImage} from ${state.paths.argoexec} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  const aliases = {};
  if (!(await inspectImage(DEFAULT_IMAGES.gpu))) aliases[DEFAULT_IMAGES.gpu] = DEFAULT_IMAGES.cpu;
  say(`pods run from their images (buildah storage): ${DEFAULT_IMAGES.cpu} (${cpu.id.slice(0, 12)}), ${executorImage}`);
  if (aliases[DEFAULT_IMAGES.gpu]) {
    say(
      `${DEFAULT_IMAGES.gpu} is not built here (its base is NVIDIA's CUDA image): pods naming it run from ` +
        `${DEFAULT_IMAGES.cpu}, which has no CUDA provider`,
    );
  }
  return {
    executorImage,
    pods: { from: 'image', aliases },
    describe: { from: 'image', worker: { ref: DEFAULT_IMAGES.cpu, id: cpu.id }, executorImage, aliases },
  };
}

function makeRunnerBin(state) {
  const bin = join(state.dir, 'runner', 'bin');
  mkdirSync(bin, { recursive: true });
  // The pods see this checkout at IMAGE_ROOT, as an image holds its app at a fixed path: the checkout itself may be
  // under /tmp (CI clones anywhere), which the pods' /tmp emptyDir would hide.
  const cli = posixJoin(IMAGE_ROOT, 'packages/cli/bin/batchscore.js');
  if (!existsSync(join(REPO, 'packages/cli/dist/bundle/main.js'))) {
    say(
      `warning: ${join(REPO, 'packages/cli/dist/bundle/main.js')} is missing: pods cannot ` +
        `run batchscore until \`npm run build\` has built it`,
    );
  }
  // The same V8 flag as bin/batchscore.js's #! line (see OLD_SPACE_FLAG in packages/cli/src/runLocal.ts): node is
  // run by path here, so the #! line is not read.
  writeFileSync(
    join(bin, 'batchscore'),
    `#!/bin/sh\n# batchscore from ${REPO} (bound at ${IMAGE_ROOT} in each container), ` +
      `for the pods the pod runner runs (images are not pulled).\nexec '${process.execPath}' ` +
      `--initial-old-space-size=128 '${cli}' "$@"\n`,
  );
  chmodSync(join(bin, 'batchscore'), 0o755);
  // argoexec init copies "argoexec" from PATH to /var/run/argo/argoexec, the emissary then wraps main with it.
  symlinkSync(state.paths.argoexec, join(bin, 'argoexec'));
  return bin;
}

async function up(opts) {
  const t0 = Date.now();
  const dir = opts.dir;
  const existing = readState(dir);
  if (existing) {
    const names = Object.keys(existing.procs ?? {});
    const dead = names.filter((n) => !alive(existing.procs[n]));
    if (names.length && !dead.length && existing.stack && existing.stack !== opts.stack) {
      throw new UsageError(
        `a cluster of stack ${existing.stack} is up in ${dir}; \`npm run cluster -- down\` it before ` +
          `bringing up stack ${opts.stack}`,
      );
    }
    if (names.length && !dead.length) {
      say(`already up in ${dir} (since ${existing.upAt}); \`npm run cluster -- status\` for its health`);
      process.stdout.write(`export KUBECONFIG=${existing.kubeconfig}\n`);
      return 0;
    }
    if (names.length > dead.length) say(`partly running (${dead.join(', ')} gone): stopping the rest first`);
    await down({ ...opts, quiet: true });
  }
  if (!(await portFree(ARGO_HEALTH_PORT))) {
    throw new UsageError(
      `port ${ARGO_HEALTH_PORT} is in use: the Argo controller's health server needs it ` +
        `(it is fixed), so only one cluster ` +
        'runs per machine; is another one up (`npm run cluster -- status --dir DIR`)?',
    );
  }
  if (existsSync(dir) && readdirSync(dir).length && !existsSync(join(dir, MARKER))) {
    throw new UsageError(`--dir ${dir}: not empty and not a cluster state folder (no ${MARKER}); refusing to wipe it`);
  }
  // A fresh cluster every time: no etcd data, pods or certificates from an earlier one.
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['logs', 'run', 'etcd', 'runner']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, MARKER), 'made by scripts/cluster/cluster.mjs; `up` wipes this folder\n');

  const { bin, paths, crds } = findBinaries(opts);
  const versions = componentVersions(paths);
  say(
    `stack ${opts.stack}: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const ports = {};
  for (const k of ['etcd', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler', 'argoMetrics'])
    ports[k] = await freePort();
  const pki = join(dir, 'pki');
  const token = makePki(pki);
  const state = {
    dir,
    stack: opts.stack,
    versions,
    bin,
    paths,
    ports,
    token,
    kubeconfig: join(dir, 'kubeconfig'),
    nodes: nodesConfig(opts),
    procs: {},
    upAt: new Date().toISOString(),
  };
  writeKubeconfig(state.kubeconfig, ports.apiserver, join(pki, 'ca.crt'), token);
  const save = () => writeState(dir, state);
  const checks = healthChecks(state);
  const times = {};
  const started = async (name, proc) => {
    state.procs[name] = proc;
    save();
    times[name] = await waitFor(name, proc, checks[name]);
    say(`${name} healthy (pid ${proc.pid}, ${(times[name] / 1000).toFixed(1)} s)`);
  };

  try {
    await started(
      'etcd',
      startProcess(dir, 'etcd', paths.etcd, [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${ports.etcdPeer}`,
        '--initial-cluster-state=new',
        '--unsafe-no-fsync', // a throwaway test cluster: durability is not worth the fsync latency
        '--log-level=warn',
      ]),
    );

    await started(
      'kube-apiserver',
      startProcess(dir, 'kube-apiserver', paths['kube-apiserver'], [
        `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        `--cert-dir=${pki}`,
        `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
        `--client-ca-file=${join(pki, 'ca.crt')}`,
        `--token-auth-file=${join(pki, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        '--authorization-mode=Node,RBAC',
        '--service-cluster-ip-range=10.96.0.0/16', // required; never dialled
        // The kubernetes Service cannot point at loopback; without this the API server says so every 10 s.
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
      ]),
    );

    const kube = ['--kubeconfig', '--authentication-kubeconfig', '--authorization-kubeconfig'].map(
      (f) => `${f}=${state.kubeconfig}`,
    );
    const kcm = startProcess(dir, 'kube-controller-manager', paths['kube-controller-manager'], [
      ...kube,
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${join(pki, 'ca.crt')}`,
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(dir, 'run')}`,
      '--profiling=false',
    ]);
    const sched = startProcess(dir, 'kube-scheduler', paths['kube-scheduler'], [
      ...kube,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${join(dir, 'run')}`,
      '--profiling=false',
    ]);
    // Both start while the CRDs go in.
    state.procs['kube-controller-manager'] = kcm;
    state.procs['kube-scheduler'] = sched;
    save();

    const t = Date.now();
    kubectl(state, ['apply', '--server-side', '--force-conflicts', '-f', crds]);
    for (const ns of NAMESPACES) kubectl(state, ['create', 'namespace', ns]);
    kubectl(state, ['apply', '-f', '-'], argoConfigMap(state));
    // The RuntimeClass GPU nodes have (the NVIDIA GPU operator installs it): batchscore's GPU score pods set
    // runtimeClassName through podSpecPatch, and admission rejects a pod whose RuntimeClass does not exist.
    kubectl(
      state,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'node.k8s.io/v1',
        kind: 'RuntimeClass',
        metadata: { name: 'nvidia' },
        handler: 'nvidia',
      }),
    );
    // The manifests name no namespace (manifests/README.md): `-n` puts them where the workflows run.
    kubectl(state, [
      'apply',
      '-n',
      'batchscore',
      '-f',
      join(REPO, 'manifests/rbac.yaml'),
      '-f',
      join(REPO, 'manifests/gpu-semaphore.yaml'),
    ]);
    kubectl(state, ['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
    times.setup = Date.now() - t;
    say(
      `Argo CRDs, namespaces ${NAMESPACES.join(', ')}, RuntimeClass nvidia and manifests/ ` +
        `applied (${(times.setup / 1000).toFixed(1)} s)`,
    );

    for (const [name, proc] of [
      ['kube-controller-manager', kcm],
      ['kube-scheduler', sched],
    ]) {
      times[name] = await waitFor(name, proc, checks[name]);
      say(`${name} healthy (pid ${proc.pid})`);
    }

    const sources = await podSources(state, opts);
    state.pods = sources.describe;
    save();
    await started(
      'workflow-controller',
      startProcess(
        dir,
        'workflow-controller',
        paths['workflow-controller'],
        [
          `--kubeconfig=${state.kubeconfig}`,
          '--namespace=argo', // where its ConfigMap is; it watches workflows in every namespace (--namespaced=false)
          '--namespaced=false',
          '--configmap=workflow-controller-configmap',
          // Never pulled: the pod runner runs it from its storage (or argoexec from PATH, with --pods-from checkout).
          `--executor-image=${sources.executorImage}`,
          '--executor-image-pull-policy=IfNotPresent',
          // Argo reconciles a workflow at most once per DEFAULT_REQUEUE_TIME (10 s upstream), so each step would wait
          // up to 10 s after its pod ended; Argo's own test setup uses 1 s, and so do we unless told otherwise.
        ],
        { LEADER_ELECTION_DISABLE: 'true', DEFAULT_REQUEUE_TIME: opts.requeueTime },
      ),
    );

    const runnerConfig = join(dir, 'runner', 'config.json');
    writeFileSync(
      runnerConfig,
      JSON.stringify(
        {
          kubeconfig: state.kubeconfig,
          apiServerPort: ports.apiserver,
          stateDir: join(dir, 'runner'),
          pods: sources.pods,
          nodes: state.nodes,
          // The Nodes report the stack's Kubernetes version, as its kubelets would.
          kubeletVersion: versions.kubernetes,
          heartbeatSeconds: 20,
        },
        null,
        2,
      ),
    );
    await started(
      'pod-runner',
      startProcess(dir, 'pod-runner', process.execPath, [
        '--import',
        pathToFileURL(join(REPO, 'scripts/tsLoader.mjs')).href,
        join(REPO, 'scripts/cluster/runner/main.ts'),
        runnerConfig,
      ]),
    );

    // Pods can be created once their namespace has its ServiceAccount and the CA bundle their token volume reads.
    times.serviceAccounts = await waitFor(
      'ServiceAccount default and ConfigMap kube-root-ca.crt in namespace batchscore',
      undefined,
      async () => {
        const ca = readFileSync(join(pki, 'ca.crt'));
        const api = `https://127.0.0.1:${ports.apiserver}/api/v1/namespaces/batchscore`;
        const sa = await request(`${api}/serviceaccounts/default`, { ca, token });
        const cm = await request(`${api}/configmaps/kube-root-ca.crt`, { ca, token });
        return (sa.status === 200 && cm.status === 200) || `serviceaccount ${sa.status}, configmap ${cm.status}`;
      },
      60_000,
    );
  } catch (err) {
    say(`up failed: ${err.message}`);
    say('stopping what was started; the logs stay in ' + join(dir, 'logs'));
    await down({ ...opts, quiet: true });
    return 1;
  }
  state.upSeconds = (Date.now() - t0) / 1000;
  save();
  say(`up in ${state.upSeconds.toFixed(1)} s: API server https://127.0.0.1:${ports.apiserver}, state in ${dir}`);
  say(
    `nodes: ${state.nodes.map((n) => n.name).join(', ')} (gpu-node-1: nvidia.com/gpu ` +
      `${opts.gpus}, ${opts.gpuProduct}, taint nvidia.com/gpu=present:NoSchedule)`,
  );
  say(
    `pod logs: ${join(dir, 'runner', 'pods')}/<namespace>_<pod>_<uid>/logs/<container>.{stdout,stderr} ` +
      `(kubectl logs does not work: no kubelet API)`,
  );
  process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// down, status

async function stopProcess(name, proc, graceMs) {
  if (!alive(proc)) return 'not running';
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    if (!alive(proc)) return 'stopped';
    await sleep(100);
  }
  // The Argo controller, for one, keeps going for a while after SIGTERM.
  try {
    process.kill(proc.pid, 'SIGKILL');
  } catch {
    /* just exited */
  }
  for (let i = 0; i < 50 && alive(proc); i++) await sleep(100);
  return 'killed after SIGTERM was ignored for ' + graceMs / 1000 + ' s';
}

/** Container processes the runner recorded (pid + start time), for machines without a usable cgroup. */
function leftoverContainers(dir) {
  const pods = join(dir, 'runner', 'pods');
  const found = [];
  if (!existsSync(pods)) return found;
  for (const pod of readdirSync(pods)) {
    const ctrs = join(pods, pod, 'containers');
    if (!existsSync(ctrs)) continue;
    for (const c of readdirSync(ctrs)) {
      try {
        // unshare's pid and start time, then the container's pid 1 (host pid) and its start time
        const [pid, start, initPid, initStart] = readFileSync(join(ctrs, c, 'pid'), 'utf8')
          .trim()
          .split(' ');
        for (const proc of [
          { pid: Number(initPid), start: initStart },
          { pid: Number(pid), start },
        ]) {
          if (proc.pid && alive(proc)) found.push({ ...proc, name: `${pod}/${c}` });
        }
      } catch {
        /* never started */
      }
    }
  }
  return found;
}

async function down(opts) {
  const dir = opts.dir;
  const state = readState(dir);
  if (!state) {
    if (!opts.quiet) say(`nothing to stop: no cluster state in ${dir}`);
    return 0;
  }
  // The pod runner first (it stops its containers), the API server and etcd last.
  const order = [
    'pod-runner',
    'workflow-controller',
    'kube-scheduler',
    'kube-controller-manager',
    'kube-apiserver',
    'etcd',
  ];
  for (const name of order) {
    const proc = state.procs?.[name];
    if (!proc) continue;
    const how = await stopProcess(name, proc, name === 'workflow-controller' ? 5000 : 10_000);
    if (!opts.quiet || how !== 'not running') say(`${name} (pid ${proc.pid}): ${how}`);
  }
  const swept = sweepCgroups(join(dir, 'runner'));
  // The image working containers the runner opened (it leaves them: see its stopAll).
  const removed = await removeWorkingContainers(containerPrefix(join(dir, 'runner'))).catch(() => []);
  if (removed.length) say(`removed the pod runner's image working containers: ${removed.join(', ')}`);
  let left = leftoverContainers(dir);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL'); // a container's pid 1 takes its whole pid namespace along
    } catch {
      /* gone */
    }
  }
  await sleep(left.length || swept ? 300 : 0);
  sweepCgroups(join(dir, 'runner'));
  removeCgroups(join(dir, 'runner'));
  if (swept || left.length) say(`killed ${swept || left.length} container process(es) the pod runner had left`);
  left = leftoverContainers(dir);
  if (left.length) say(`still running: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
  rmSync(statePath(dir), { force: true });
  if (!opts.quiet) say(`down; logs kept in ${join(dir, 'logs')} and ${join(dir, 'runner', 'pods')} until the next up`);
  return 0;
}

async function status(opts) {
  const state = readState(opts.dir);
  if (!state) {
    say(`not up: no cluster state in ${opts.dir}`);
    if (opts.json) process.stdout.write(JSON.stringify({ up: false, dir: opts.dir }) + '\n');
    return 1;
  }
  const checks = healthChecks(state);
  const portOf = {
    etcd: `${state.ports.etcd} (peer ${state.ports.etcdPeer})`,
    'kube-apiserver': state.ports.apiserver,
    'kube-controller-manager': state.ports.controllerManager,
    'kube-scheduler': state.ports.scheduler,
    'workflow-controller': `${ARGO_HEALTH_PORT} health, ${state.ports.argoMetrics} metrics`,
    'pod-runner': '-',
  };
  const rows = [];
  let healthy = true;
  for (const [name, proc] of Object.entries(state.procs)) {
    const running = alive(proc);
    const h = running ? await checks[name]() : 'not running';
    if (h !== true) healthy = false;
    rows.push({
      name,
      pid: proc.pid,
      running,
      port: String(portOf[name]),
      health: h === true ? 'healthy' : `UNHEALTHY: ${h}`,
    });
  }
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(
        {
          up: true,
          healthy,
          stack: state.stack,
          versions: state.versions,
          dir: state.dir,
          kubeconfig: state.kubeconfig,
          ports: state.ports,
          pods: state.pods,
          components: rows,
        },
        null,
        2,
      ) + '\n',
    );
    return healthy ? 0 : 1;
  }
  const w = (s, n) => String(s).padEnd(n);
  process.stdout.write(`cluster in ${state.dir} (up since ${state.upAt}), stack ${state.stack}\n`);
  const versions = Object.entries(state.versions ?? {}).map(([k, v]) => `${k} ${v}`);
  process.stdout.write(`versions: ${versions.join(', ')}\n`);
  const p = state.pods;
  process.stdout.write(
    p?.from === 'image'
      ? `pods run from their images: ${p.worker.ref} (${p.worker.id.slice(0, 12)}), ${p.executorImage}\n`
      : 'pods run from this checkout (--pods-from checkout)\n',
  );
  process.stdout.write(`${w('COMPONENT', 25)}${w('PID', 9)}${w('PORT', 28)}HEALTH\n`);
  for (const r of rows)
    process.stdout.write(`${w(r.name, 25)}${w(r.running ? r.pid : `(${r.pid})`, 9)}${w(r.port, 28)}${r.health}\n`);
  process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
  return healthy ? 0 : 1;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    say(err.message);
    say(
      'usage: npm run cluster -- up|down|status [--stack current|lts] [--dir DIR] [--bin DIR] [--gpu-product ' +
        'NAME] [--gpus N] [--requeue-time D] [--json] [--pods-from image|checkout]',
    );
    return 64;
  }
  try {
    if (opts.command === 'up') return await up(opts);
    if (opts.command === 'down') return await down(opts);
    return await status(opts);
  } catch (err) {
    say(err instanceof UsageError ? err.message : `${opts.command} failed: ${err.stack ?? err}`);
    return err instanceof UsageError ? 64 : 1;
  }
}

process.exitCode = await main();
