// One container, as a kubelet with a container runtime starts it: its command and environment (from the pod spec
// and, in image mode, the image's config), its file system (mounts.ts), its user, and a process in pid and mount
// namespaces of its own (unshare). The command is pid 1 there, as in a container: SIGTERM reaches it only if it
// handles SIGTERM, and whatever it leaves behind dies with it. More than realism: Argo's emissary forwards signals
// with kill(-1, …) (its child's pid after Process.Release), which on the host would signal every process of the
// machine.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { containerUser } from './containerUser.js';
import type { OpenImage } from './images.js';
import { expand, fieldRefValue, resourceFieldRefValue } from './k8sSemantics.js';
import type { Kube } from './kube.js';
import { sleep } from './log.js';
import { execFailure, setupScript, volumeBinds, type Bind, type SetupPlan } from './mounts.js';
import { ConfigError, getObject, objectData } from './objects.js';
import { cgroupPids, killPids, nsInitPid, procStartTime, tail } from './processes.js';
import { imageUsers, resolveInRoot } from './rootfs.js';
import { makeSubPath, makeTerminationLog } from './volumes.js';
import type { Container, NodeConfig, Pod, PodsFrom } from './types.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Checkout mode has no images: what an image would give a container that names no command (entrypoint, cmd, env)
 * comes from this table, matched on the repository's last path segment.
 */
const CHECKOUT_IMAGES: Record<string, { entrypoint: string[]; cmd: string[]; env: Record<string, string> }> = {
  'batchscore-worker': { entrypoint: ['batchscore'], cmd: ['--help'], env: { NODE_ENV: 'production' } },
  argoexec: { entrypoint: ['argoexec'], cmd: [], env: {} },
};

function checkoutImage(image: string | undefined) {
  const repo = String(image ?? '')
    .split('@')[0]!
    .replace(/:[^/:]*$/, '');
  return CHECKOUT_IMAGES[repo.split('/').pop()!];
}

export interface ContainerContext {
  kube: Kube;
  pod: Pod;
  node: NodeConfig | undefined;
  /** The pod's folder. */
  dir: string;
  apiServerPort: number;
  podsFrom: PodsFrom;
  /** Volume name → folder. */
  volumes: Map<string, string>;
}

/** What a container starts with, all of it decided before anything runs. */
export interface Launch {
  argv: string[];
  env: Record<string, string>;
  plan: SetupPlan;
  /** Image mode: the image it runs. */
  image?: OpenImage;
}

/** Pure: `KEY=VALUE` lines as a map (the image config's Env). */
export function envLines(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** The pod spec's env of a container: values, Secrets, ConfigMaps, the downward API, $(VAR) expansion. */
async function specEnv(ctx: ContainerContext, c: Container, service: Record<string, string>) {
  const ns = ctx.pod.metadata.namespace;
  const env: Record<string, string> = {};
  const validName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
  for (const from of c.envFrom ?? []) {
    const kind = from.secretRef ? 'secret' : 'configmap';
    const ref = (from.secretRef ?? from.configMapRef)!;
    const obj = await getObject(ctx.kube, ns, kind, ref.name ?? '', ref.optional);
    for (const [k, v] of Object.entries(objectData(kind, obj))) {
      const name = (from.prefix ?? '') + k;
      if (validName.test(name)) env[name] = v.toString('utf8');
    }
  }
  for (const e of c.env ?? []) {
    let value: string;
    const vf = e.valueFrom;
    if (vf?.secretKeyRef || vf?.configMapKeyRef) {
      const kind = vf.secretKeyRef ? 'secret' : 'configmap';
      const ref = (vf.secretKeyRef ?? vf.configMapKeyRef)!;
      const data = objectData(kind, await getObject(ctx.kube, ns, kind, ref.name ?? '', ref.optional));
      if (!(ref.key in data)) {
        if (ref.optional) continue;
        throw new ConfigError(
          `couldn't find key ${ref.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`,
        );
      }
      value = data[ref.key]!.toString('utf8');
    } else if (vf?.fieldRef) value = fieldRefValue(ctx.pod, vf.fieldRef.fieldPath);
    else if (vf?.resourceFieldRef) value = resourceFieldRefValue(ctx.pod, c, vf.resourceFieldRef, ctx.node);
    // $(VAR) sees the variables declared before it and the service variables, as the kubelet's mapping does.
    else value = expand(e.value ?? '', (n) => (n in env ? env[n] : service[n]));
    env[e.name] = value;
  }
  return env;
}

function serviceEnv(ctx: ContainerContext): Record<string, string> {
  const port = String(ctx.apiServerPort);
  return {
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: port,
    KUBERNETES_SERVICE_PORT_HTTPS: port,
    KUBERNETES_PORT: `tcp://127.0.0.1:${port}`,
    KUBERNETES_PORT_443_TCP: `tcp://127.0.0.1:${port}`,
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: port,
    KUBERNETES_PORT_443_TCP_ADDR: '127.0.0.1',
  };
}

/** Pure: the command line: command + args, else the image's entrypoint + (args, else its cmd); $(VAR) expanded. */
export function commandLine(
  c: Container,
  image: { entrypoint: string[]; cmd: string[] } | undefined,
  env: Record<string, string>,
): string[] {
  let argv: string[];
  if (c.command?.length) argv = [...c.command, ...(c.args ?? [])];
  else if (image?.entrypoint.length) argv = [...image.entrypoint, ...(c.args ?? image.cmd)];
  else if (image?.cmd.length && !c.args) argv = [...image.cmd];
  else {
    const why = image ? `image ${c.image} has no entrypoint` : `no image entrypoint is known for ${c.image}`;
    throw new Error(`container ${c.name}: no command, and ${why}; set command`);
  }
  return argv.map((a) => expand(a, (n) => env[n]));
}

/** The pod's /etc/hosts, /etc/hostname and /etc/resolv.conf, written once into its folder. */
function podEtcFiles(ctx: ContainerContext): Bind[] {
  const etc = join(ctx.dir, 'etc');
  const host = ctx.pod.spec.hostname ?? ctx.pod.metadata.name;
  if (!existsSync(etc)) {
    mkdirSync(etc, { recursive: true });
    writeFileSync(
      join(etc, 'hosts'),
      '# Kubernetes-managed hosts file (the batchscore pod runner).\n127.0.0.1\tlocalhost\n' +
        `::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t${host}\n`,
    );
    writeFileSync(join(etc, 'hostname'), `${host}\n`);
    if (existsSync('/etc/resolv.conf')) copyFileSync('/etc/resolv.conf', join(etc, 'resolv.conf'));
    else writeFileSync(join(etc, 'resolv.conf'), '');
  }
  return ['hosts', 'hostname', 'resolv.conf'].map((f) => ({
    src: join(etc, f),
    dst: `/etc/${f}`,
    readOnly: false,
    file: true,
  }));
}

/**
 * Everything a container starts with. Throws ConfigError (a Secret or ConfigMap missing: retried), UserError
 * (the user cannot be used), ImageMissingError (image mode: not stored), or another Error (a StartError).
 */
export async function prepareContainer(
  ctx: ContainerContext,
  c: Container,
  ctrDir: string,
  cgroup: string | undefined,
  openImage: (ref: string) => Promise<OpenImage>,
): Promise<Launch> {
  const service = serviceEnv(ctx);
  const fromSpec = await specEnv(ctx, c, service);
  const termFile = join(ctrDir, 'termination-log');
  const isFile = (p: string) => statSync(p).isFile();
  const subPathDirs = (binds: Bind[]) => {
    for (const b of binds) {
      if (existsSync(b.src)) continue;
      // As the kubelet does: a subPath's folders take its volume's mode.
      if (b.volume) makeSubPath(b.volume, b.src);
      else mkdirSync(b.src, { recursive: true });
    }
  };
  const termPath = c.terminationMessagePath || '/dev/termination-log';
  const hostname = ctx.pod.spec.hostname ?? ctx.pod.metadata.name;
  if (ctx.podsFrom.from === 'checkout') {
    const img = checkoutImage(c.image);
    const env: Record<string, string> = {
      PATH: `${ctx.podsFrom.binDir}:${DEFAULT_PATH}`,
      HOSTNAME: hostname,
      // Not the runner's HOME: a pod must not find this machine's ~/.aws or ~/.kube.
      HOME: join(ctx.dir, 'home', c.name!),
      ...img?.env,
      ...service,
      ...fromSpec,
    };
    mkdirSync(env.HOME!, { recursive: true });
    const argv = commandLine(c, img, env);
    const vb = volumeBinds(c, ctx.volumes, env, (p) => existsSync(p) && isFile(p));
    subPathDirs(vb);
    makeTerminationLog(termFile);
    const binds: Bind[] = [
      // The checkout stands for the image's files, bound before the volumes so that a /tmp emptyDir cannot hide a
      // checkout under /tmp.
      { src: ctx.podsFrom.source, dst: ctx.podsFrom.root, readOnly: true, file: false },
      ...vb,
      { src: termFile, dst: termPath, readOnly: false, file: true },
    ];
    const plan: SetupPlan = {
      startError: join(ctrDir, 'start-error'),
      ...(cgroup ? { cgroup } : {}),
      binds,
      workingDir: c.workingDir || join(ctx.dir, 'home', c.name!),
    };
    return { argv, env, plan };
  }
  const image = await openImage(c.image);
  const users = imageUsers(image.root);
  const user = containerUser(ctx.pod, c, image.config.user, users);
  const fromImage = envLines(image.config.env);
  const env: Record<string, string> = {
    ...fromImage,
    PATH: fromImage.PATH ?? DEFAULT_PATH,
    HOSTNAME: hostname,
    ...service,
    ...fromSpec,
  };
  env.HOME ??= user.home;
  const argv = commandLine(c, image.config, env);
  const inRoot = (p: string) => resolveInRoot(image.root, p);
  const vb = volumeBinds(c, ctx.volumes, env, (p) => existsSync(p) && isFile(p));
  subPathDirs(vb);
  makeTerminationLog(termFile);
  const binds = [...podEtcFiles(ctx), ...vb, { src: termFile, dst: termPath, readOnly: false, file: true }].map(
    (b) => ({ ...b, dst: inRoot(b.dst) }),
  );
  const root = {
    lower: image.root,
    upper: join(ctrDir, 'rootfs', 'upper'),
    work: join(ctrDir, 'rootfs', 'work'),
    merged: join(ctrDir, 'rootfs', 'merged'),
    readOnly: !!c.securityContext?.readOnlyRootFilesystem,
  };
  for (const d of [root.upper, root.work, root.merged]) mkdirSync(d, { recursive: true });
  const plan: SetupPlan = {
    startError: join(ctrDir, 'start-error'),
    ...(cgroup ? { cgroup } : {}),
    root,
    binds,
    workingDir: inRoot(c.workingDir || image.config.workingDir || '/'),
    user: { uid: user.uid, gid: user.gid },
  };
  return { argv, env, plan, image };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface RunningContainer {
  child: ChildProcess;
  /** The container's pid 1, as this machine numbers it. */
  initPid: number | undefined;
  exited: Promise<Exit>;
  /** A signal to the container's pid 1 (only while it is the process started: pids are recycled). */
  signal: (sig: NodeJS.Signals) => void;
  /** SIGKILL to pid 1 (which takes its pid namespace along) and to whatever is left in its cgroup. */
  killAll: () => void;
  killed: () => boolean;
}

/** Starts a prepared container; its stdout and stderr go to `logs`/<name>.{stdout,stderr}. */
export async function startContainer(
  name: string,
  launch: Launch,
  o: { ctrDir: string; logs: string; cwd: string },
): Promise<RunningContainer> {
  rmSync(join(o.ctrDir, 'start-error'), { force: true });
  writeFileSync(join(o.ctrDir, 'argv.json'), JSON.stringify(launch.argv));
  const out = openSync(join(o.logs, `${name}.stdout`), 'a');
  const errFd = openSync(join(o.logs, `${name}.stderr`), 'a');
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
      setupScript(launch.plan),
      'sh',
      ...launch.argv,
    ],
    { env: launch.env, cwd: o.cwd, detached: true, stdio: ['ignore', out, errFd] },
  );
  closeSync(out);
  closeSync(errFd);
  let killed = false;
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => resolve({ code: 128, signal: null, error: err }));
  });
  const initPid = child.pid ? await nsInitPid(child.pid) : undefined;
  const initStart = initPid ? procStartTime(initPid) : undefined;
  const signal = (sig: NodeJS.Signals) => {
    if (!initPid || procStartTime(initPid) !== initStart) return;
    try {
      process.kill(initPid, sig);
    } catch {
      /* gone */
    }
  };
  const cgroup = launch.plan.cgroup;
  const killAll = () => {
    killed = true;
    signal('SIGKILL'); // pid 1 of a pid namespace dying takes every process in it along
    if (cgroup) killPids(cgroupPids(cgroup), 'SIGKILL');
  };
  // unshare's pid, the container's pid 1, and their start times: `down` kills what is left by them, and a
  // recycled pid never matches.
  writeFileSync(
    join(o.ctrDir, 'pid'),
    `${child.pid} ${child.pid ? (procStartTime(child.pid) ?? '') : ''} ${initPid ?? ''} ${initStart ?? ''}\n`,
  );
  return { child, initPid, exited, signal, killAll, killed: () => killed };
}

export interface Termination {
  exitCode: number;
  reason: string;
  message?: string;
  signal?: NodeJS.Signals;
}

/** How a container ended, as the kubelet reports it (after its processes are gone). */
export async function termination(
  c: Container,
  launch: Launch,
  run: RunningContainer,
  exit: Exit,
  o: { ctrDir: string; logs: string },
): Promise<Termination> {
  const cgroup = launch.plan.cgroup;
  if (cgroup) {
    killPids(cgroupPids(cgroup), 'SIGKILL'); // a process that left the namespace's process tree, if any
    for (let i = 0; i < 50 && cgroupPids(cgroup).length; i++) await sleep(100);
  }
  let { code, signal } = exit;
  const stderr = tail(join(o.logs, `${c.name}.stderr`), 2048);
  // unshare (util-linux 2.38) passes on its child's exit code and re-raises a fatal signal, except SIGKILL,
  // which it cannot re-raise: it then exits 1 after "unshare: sigprocmask unblock failed".
  if (code === 1 && (run.killed() || stderr.slice(-200).includes('unshare: sigprocmask unblock failed'))) {
    code = null;
    signal = 'SIGKILL';
  }
  const exitCode = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
  const startErrorFile = join(o.ctrDir, 'start-error');
  const startError = existsSync(startErrorFile) ? readFileSync(startErrorFile, 'utf8') : '';
  const cannotExec = (exitCode === 126 || exitCode === 127) && execFailure(stderr, launch.argv[0]!);
  if (exit.error || startError || cannotExec) {
    const message = exit.error ? `cannot start unshare: ${exit.error.message}` : startError || (cannotExec as string);
    return { exitCode: 128, reason: 'StartError', message };
  }
  let message = readFileSync(join(o.ctrDir, 'termination-log'), 'utf8').slice(0, 4096) || undefined;
  if (!message && exitCode !== 0 && c.terminationMessagePolicy === 'FallbackToLogsOnError') {
    message = tail(join(o.logs, `${c.name}.stderr`), 2048) || tail(join(o.logs, `${c.name}.stdout`), 2048) || undefined;
  }
  return {
    exitCode,
    reason: exitCode === 0 ? 'Completed' : 'Error',
    ...(message ? { message } : {}),
    ...(signal ? { signal } : {}),
  };
}
