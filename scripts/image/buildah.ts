// buildah, the daemonless image builder, as this repository uses it: root's local image storage with the vfs
// driver (plain folders: it works on any file system, in containers and VMs without overlay support for
// storage), chroot isolation (no runtime such as crun, which needs cgroup v2 and rlimits these machines refuse).
import { spawn } from 'node:child_process';

/** Global options of every buildah call: the storage the image build, its tests and the pod runner share. */
export const STORAGE_OPTIONS = ['--storage-driver', 'vfs'];

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `buildah ARGS` (with STORAGE_OPTIONS). With `echo`, its output (a build's step-by-step progress, on both its
 * stdout and stderr) also goes to our stderr as it comes.
 */
export function buildah(args: string[], o: { cwd?: string; echo?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn('buildah', [...STORAGE_OPTIONS, ...args], {
      cwd: o.cwd,
      env: o.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (o.echo) process.stderr.write(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      if (o.echo) process.stderr.write(c);
    });
    child.on('error', (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error('buildah is not installed (Debian: apt-get install buildah)')
          : err,
      ),
    );
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr }));
  });
}

/** buildah ARGS, its stdout; a non-zero exit throws with its stderr. */
export async function buildahOk(args: string[], o: { cwd?: string; echo?: boolean } = {}): Promise<string> {
  const r = await buildah(args, o);
  if (r.code !== 0) {
    throw new Error(`buildah ${args.slice(0, 3).join(' ')}: exit ${r.code}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  }
  return r.stdout;
}

/** Pure: the image ids a `buildah bud` printed (each step's `--> ID` and `Using cache ID`). */
export function budImageIds(output: string): string[] {
  return [...new Set([...output.matchAll(/(?:^--> |Using cache )([0-9a-f]{11,64})\b/gm)].map((m) => m[1]!))];
}

/**
 * Removes the untagged images no build but the latest made (`keep`: the ids that build printed, every step of
 * every stage, full or short): the layers of earlier builds, which vfs keeps as whole copies of the root file
 * system. The latest build's steps stay, being the next build's layer cache (those of its build stages are
 * untagged, and no tagged image is built on them, so `buildah rmi --prune` would take them too). An image a
 * container uses, or another image is built on, is kept; the loop takes chains from their end. Returns how many
 * went.
 */
export async function pruneOldLayers(keep: string[]): Promise<number> {
  const kept = (id: string) => keep.some((k) => id.startsWith(k) || k.startsWith(id));
  let removed = 0;
  for (;;) {
    const r = await buildah(['images', '--all', '--json']);
    if (r.code !== 0) return removed;
    const images = JSON.parse(r.stdout || '[]') as { id: string; names?: string[] | null }[];
    const old = images.filter((i) => !(i.names ?? []).length && !kept(i.id));
    let progress = 0;
    for (const i of old) if ((await buildah(['rmi', i.id])).code === 0) progress++;
    removed += progress;
    if (!progress) return removed;
  }
}

/**
 * Pure: of these working containers, the ones an earlier build left (killed midway, so --force-rm never ran): bud's
 * own (`NAME-working-container`, `-N` when taken) and our size measurements' (`bs-size-PID-TIME`) whose process is
 * gone. Builds run one at a time (the image lock), so no build under way owns them. The pod runner's
 * (`bs-podrunner-…`) and the image tests' containers are named otherwise and stay.
 */
export function leftoverBuildContainers(names: string[], alive: (pid: number) => boolean): string[] {
  return names.filter((n) => {
    if (/-working-container(-\d+)?$/.test(n)) return true;
    const m = /^bs-size-(\d+)-\d+$/.exec(n);
    return m !== null && !alive(Number(m[1]));
  });
}

/** Removes the working containers earlier builds left (leftoverBuildContainers); returns their names. */
export async function sweepBuildContainers(): Promise<string[]> {
  const r = await buildah(['containers', '--json']);
  if (r.code !== 0) return [];
  const names = ((JSON.parse(r.stdout || '[]') as { containername: string }[] | null) ?? []).map(
    (c) => c.containername,
  );
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const left = leftoverBuildContainers(names, alive);
  for (const n of left) await buildah(['rm', n]);
  return left;
}

/** The image config buildah keeps (OCI image config, the fields a container's start needs). */
export interface ImageConfig {
  id: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
  labels: Record<string, string>;
}

/** The image `ref` names in local storage, or undefined where there is none (buildah pulls nothing here). */
export async function inspectImage(ref: string): Promise<ImageConfig | undefined> {
  const r = await buildah(['inspect', '--type', 'image', ref]);
  if (r.code !== 0) {
    if (/image not known|not found|unable to find|no such image/i.test(r.stderr)) return undefined;
    throw new Error(`buildah inspect --type image ${ref}: exit ${r.code}: ${r.stderr.trim()}`);
  }
  const info = JSON.parse(r.stdout) as {
    FromImageID: string;
    OCIv1: {
      config?: {
        Entrypoint?: string[];
        Cmd?: string[];
        Env?: string[];
        User?: string;
        WorkingDir?: string;
        Labels?: Record<string, string>;
      };
    };
  };
  const c = info.OCIv1.config ?? {};
  return {
    id: info.FromImageID,
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    env: c.Env ?? [],
    user: c.User ?? '',
    workingDir: c.WorkingDir ?? '',
    labels: c.Labels ?? {},
  };
}
