// A container's file system, planned as data and set up by a shell script that runs inside the container's own
// mount and pid namespaces (unshare): in image mode the image's root file system under an overlay (the image
// read-only below, the container's writes in its own folder above, all of it read-only with
// readOnlyRootFilesystem), the kernel's file systems (/proc, /sys, a small /dev), the pod's /etc/hosts,
// /etc/hostname and /etc/resolv.conf, its volumes at their mountPath, and the termination-message file; then the
// command runs chrooted there as the container's user. In checkout mode the same binds go onto this machine's
// own root file system and the command runs there.
import { posix } from 'node:path';
import { expand } from './k8sSemantics.js';
import { shq } from './log.js';
import type { Container } from './types.js';

export interface Bind {
  /** A folder or file of this machine. */
  src: string;
  /** Where the container sees it (resolved within the image root in image mode). */
  dst: string;
  readOnly: boolean;
  /** A file is bound onto a file, a folder onto a folder. */
  file: boolean;
  /** A subPath's volume folder: where the kubelet makes a missing subPath, with the volume's mode (makeSubPath). */
  volume?: string;
}

export interface RootPlan {
  /** The image's root file system, never written. */
  lower: string;
  /** The container's own folders: its writes, overlayfs' work folder, and where the root is put together. */
  upper: string;
  work: string;
  merged: string;
  readOnly: boolean;
}

export interface SetupPlan {
  /** Where the script writes why the container could not start (then exits 128). */
  startError: string;
  /** A cgroup to move into first, so that every process of the container can be found. */
  cgroup?: string;
  /** Image mode: the root to put together and chroot into. */
  root?: RootPlan;
  binds: Bind[];
  /** As the container sees it. */
  workingDir: string;
  /** Image mode: the uid and gid to run the command as. */
  user?: { uid: number; gid: number };
}

/**
 * Pure: the binds of a container's volumeMounts, `subPath`/`subPathExpr` applied (`$(VAR)` from `env`).
 * `volumes` maps a volume's name to its folder; `isFile` says whether a source is a file.
 */
export function volumeBinds(
  c: Container,
  volumes: Map<string, string>,
  env: Record<string, string>,
  isFile: (src: string) => boolean,
): Bind[] {
  return (c.volumeMounts ?? []).map((m) => {
    const vol = volumes.get(m.name);
    if (vol === undefined) {
      throw new Error(`container ${c.name}: volumeMount ${m.name}: no volume of that name in the pod`);
    }
    const sub = m.subPathExpr ? expand(m.subPathExpr, (n) => env[n]) : m.subPath;
    if (sub && (sub.startsWith('/') || sub.split('/').includes('..'))) {
      throw new Error(
        `container ${c.name}: volumeMount ${m.name}: subPath ${sub} must be a relative path inside the volume`,
      );
    }
    const src = sub ? posix.join(vol, sub) : vol;
    const dst = posix.normalize(m.mountPath).replace(/(.)\/$/, '$1'); // /tmp/ is /tmp
    return { src, dst, readOnly: !!m.readOnly, file: isFile(src), ...(sub ? { volume: vol } : {}) };
  });
}

/**
 * Pure: binds in the order a runtime mounts them: parents before children (/mainctrfs before /mainctrfs/tmp), the
 * spec's order among those of one depth.
 */
export function mountOrder(binds: Bind[]): Bind[] {
  return [...binds].sort((a, b) => a.dst.split('/').length - b.dst.split('/').length);
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Pure: the setup script; the command and its arguments are the script's "$@". */
export function setupScript(p: SetupPlan): string {
  const lines = [`fail() { printf %s "$1" > ${shq(p.startError)}; exit 128; }`];
  /** A command, or the container fails to start with `why`. */
  const step = (cmd: string, why: string) => lines.push(`${cmd} || fail ${shq(why)}`);
  if (p.cgroup) lines.push(`echo $$ > ${shq(posix.join(p.cgroup, 'cgroup.procs'))} 2>/dev/null || true`);
  const R = p.root ? p.root.merged : '';
  const at = (dst: string) => shq(R + dst);
  if (p.root) {
    const r = p.root;
    const layers = shq(`lowerdir=${r.lower},upperdir=${r.upper},workdir=${r.work}`);
    step(`mount -t overlay overlay -o ${layers} ${shq(R)}`, `cannot mount the image (overlay of ${r.lower})`);
    step(`mkdir -p ${at('/proc')} && mount -t proc -o nosuid,nodev,noexec proc ${at('/proc')}`, 'cannot mount /proc');
    const sysfs = `mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${at('/sys')} 2>/dev/null`;
    const sysBind = `{ mount --rbind /sys ${at('/sys')} && mount -o remount,bind,ro ${at('/sys')}; }`;
    step(`mkdir -p ${at('/sys')} && { ${sysfs} || ${sysBind}; }`, 'cannot mount /sys');
    step(`mkdir -p ${at('/dev')} && mount -t tmpfs -o nosuid,mode=755,size=65536k tmpfs ${at('/dev')}`, 'no /dev');
    for (const d of DEVICES)
      step(`: > ${at(`/dev/${d}`)} && mount --bind /dev/${d} ${at(`/dev/${d}`)}`, `no /dev/${d}`);
    const links = {
      fd: '/proc/self/fd',
      stdin: '/proc/self/fd/0',
      stdout: '/proc/self/fd/1',
      stderr: '/proc/self/fd/2',
    };
    for (const [name, to] of Object.entries(links)) step(`ln -s ${to} ${at(`/dev/${name}`)}`, `no /dev/${name}`);
    const shm = 'nosuid,nodev,noexec,mode=1777,size=65536k';
    step(`mkdir -p ${at('/dev/shm')} && mount -t tmpfs -o ${shm} shm ${at('/dev/shm')}`, 'cannot mount /dev/shm');
  }
  for (const b of mountOrder(p.binds)) {
    const dst = at(b.dst);
    const mk = b.file
      ? `{ [ -e ${dst} ] || { mkdir -p ${shq(posix.dirname(R + b.dst))} && : > ${dst}; }; }`
      : `mkdir -p ${dst}`;
    step(`${mk} && mount --bind ${shq(b.src)} ${dst}`, `cannot mount ${b.src} at ${b.dst}`);
    if (b.readOnly) step(`mount -o remount,bind,ro ${dst}`, `cannot make ${b.dst} read-only`);
  }
  if (p.root) {
    step(`mkdir -p ${at(p.workingDir)}`, `cannot make workingDir ${p.workingDir}`);
    if (p.root.readOnly) step(`mount -o remount,ro ${shq(R)}`, 'cannot make the root file system read-only');
    const user = p.user ? ` --setgid ${p.user.gid} --setuid ${p.user.uid}` : '';
    // unshare with no namespace to make: chroot, chdir, drop to the user (and every capability), exec "$@".
    lines.push(`exec unshare --root=${shq(R)} --wd=${shq(p.workingDir)}${user} -- "$@"`);
  } else {
    step(`mkdir -p ${shq(p.workingDir)} && cd ${shq(p.workingDir)}`, `cannot change to workingDir ${p.workingDir}`);
    lines.push(`command -v "$1" >/dev/null 2>&1 || fail "exec: \\"$1\\": executable file not found in \\$PATH"`);
    lines.push('exec "$@"');
  }
  return lines.join('\n');
}

/**
 * Pure: the error unshare wrote when it could not exec the command in the image (its last stderr line), as the
 * kubelet words a command that cannot start; undefined when the command started (whatever it printed later).
 */
export function execFailure(stderrTail: string, argv0: string): string | undefined {
  const last = stderrTail.trimEnd().split('\n').pop() ?? '';
  const m = /^unshare: failed to execute (.+): (.+)$/.exec(last);
  if (!m || m[1] !== argv0) return undefined;
  if (/No such file or directory/.test(m[2]!)) {
    return argv0.includes('/')
      ? `exec: "${argv0}": stat ${argv0}: no such file or directory`
      : `exec: "${argv0}": executable file not found in $PATH`;
  }
  return `exec: "${argv0}": ${m[2]!.toLowerCase()}`;
}
