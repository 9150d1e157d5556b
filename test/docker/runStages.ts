// Runs the steps of one Dockerfile.worker target without a Docker engine: each stage gets a folder under `scratch`
// that stands for its file system root, COPY copies (from the build context, honouring .dockerignore, or from an
// earlier stage's folder), WORKDIR and ENV apply, and RUN runs with `sh -c` in that folder, its absolute paths
// under /opt, /usr/local and /home moved into it. What this cannot do as Docker would, it says, step by step:
//
//   - an image's own files: none. The base image's node is this machine's node (its major may differ).
//   - `npm ci`: this checkout's node_modules (installed by `npm ci` from the same lockfile) is copied in instead
//     of downloading the registry's packages again; the npm commands that follow run offline.
//   - groupadd/useradd: skipped (they change this machine's users and need root); USER is not applied.
//
// So it checks what the stages do with the project's files (build, prune, the platform binaries removed, the
// link on PATH, the smoke tests) but not the base images themselves.
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  copyFrom,
  parseDockerfile,
  stageNamed,
  stages,
  stagesFor,
  type Instruction,
  type Stage,
} from './parseDockerfile.js';

const run = promisify(execFile);

export interface StagesResult {
  /** The target's folder: its `/`. */
  root: string;
  /** ENV as the target leaves it (PATH with the folder's /usr/local/bin first). */
  env: Record<string, string>;
  entrypoint: string[];
  /** One line per step, with what was run, copied or skipped. */
  steps: string[];
  /** Seconds per step. */
  timings: string[];
}

/** Absolute paths the stages use, moved into a stage's folder. */
const MOVED = /(^|[\s"'=:])(\/(?:opt|usr\/local|home)(?:\/[^\s"';|&)]*)?)/g;

export async function runStages(o: {
  dockerfile: string;
  target: string;
  context: string;
  scratch: string;
}): Promise<StagesResult> {
  const all = stages(parseDockerfile(await readFile(o.dockerfile, 'utf8')));
  const order = stagesFor(all, o.target);
  if (order.length === 0) throw new Error(`no stage named ${o.target}`);
  const ignore = await dockerignore(o.context);
  const roots = new Map<Stage, string>();
  // What a stage started FROM another stage inherits: its WORKDIR and ENV.
  const state = new Map<Stage, { workdir: string; env: Record<string, string> }>();
  const steps: string[] = [];
  const timings: string[] = [];
  let result: StagesResult | undefined;
  for (const s of order) {
    const root = path.join(o.scratch, s.name ?? `stage${all.indexOf(s)}`);
    const parent = stageNamed(all, s.image);
    if (parent) {
      // FROM an earlier stage: its file system. Moved when nothing else of this target needs that stage again.
      const usedLater = order
        .slice(order.indexOf(s) + 1)
        .some((t) => t.image === parent.name || t.body.some((i) => copyFrom(i) === parent.name));
      if (usedLater) await run('cp', ['-a', roots.get(parent)!, root]);
      else await rename(roots.get(parent)!, root);
      steps.push(`FROM ${s.image}: ${usedLater ? 'copied' : 'moved'} into ${root}`);
    } else {
      // An image's own files are not here, but its /usr/local/bin is (every base image has one).
      await mkdir(path.join(root, 'usr/local/bin'), { recursive: true });
      steps.push(`FROM ${s.image}: an empty folder, ${root} (this machine's node stands for the image's)`);
    }
    roots.set(s, root);
    const inside = (p: string) => path.join(root, p);
    let workdir = parent ? state.get(parent)!.workdir : '/';
    const env: Record<string, string> = parent ? { ...state.get(parent)!.env } : {};
    let entrypoint: string[] = [];
    const shellEnv = () => ({
      ...process.env,
      ...env,
      PATH: `${inside('/usr/local/bin')}:${process.env.PATH ?? ''}`,
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    });
    for (const ins of s.body) {
      const at = `line ${ins.line}: ${ins.op} ${ins.args.slice(0, 100)}`;
      const t0 = Date.now();
      if (ins.op === 'WORKDIR') {
        workdir = path.posix.resolve(workdir, ins.args);
        await mkdir(inside(workdir), { recursive: true });
      } else if (ins.op === 'ENV') {
        for (const m of ins.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
      } else if (ins.op === 'COPY') {
        const from = copyFrom(ins);
        const fromStage = from ? stageNamed(all, from) : undefined;
        if (from && !fromStage) throw new Error(`${at}: COPY --from an image is not supported here`);
        await copy(ins, {
          from: fromStage ? roots.get(fromStage)! : o.context,
          fromContext: !fromStage,
          ignore,
          to: root,
          workdir,
        });
      } else if (ins.op === 'RUN') {
        if (/^(groupadd|useradd)\b/.test(ins.args)) {
          steps.push(`${at}: skipped (changes this machine's users)`);
        } else if (/^npm ci\b/.test(ins.args) && !ins.args.includes('&&')) {
          // cp -a: links kept as links (npm's workspace links are relative), and far faster than fs.cp here.
          await run('cp', ['-a', path.join(o.context, 'node_modules'), path.join(inside(workdir), 'node_modules')]);
          steps.push(`${at}: this checkout's node_modules copied in instead`);
        } else {
          const cmd = ins.args.replace(MOVED, (_, pre: string, p: string) => pre + inside(p));
          try {
            await run('sh', ['-c', cmd], { cwd: inside(workdir), env: shellEnv(), maxBuffer: 64 << 20 });
          } catch (err) {
            const e = err as { code?: number; stdout?: string; stderr?: string };
            throw new Error(`${at}: exited with ${e.code}\n${cmd}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
          }
        }
      } else if (ins.op === 'ENTRYPOINT') {
        entrypoint = JSON.parse(ins.args) as string[];
      } else if (ins.op === 'USER' || ins.op === 'CMD') {
        // USER: no such user here (see groupadd/useradd); CMD: the caller runs what it wants.
      } else {
        throw new Error(`${at}: not supported here`);
      }
      if (!steps.at(-1)?.startsWith(at)) steps.push(at);
      timings.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${at}`);
    }
    state.set(s, { workdir, env });
    result = { root, env: shellEnv() as Record<string, string>, entrypoint, steps, timings };
  }
  return result!;
}

/** .dockerignore's patterns as a test of a context-relative path: `**\/name`, `name` and `*.ext` forms. */
async function dockerignore(context: string): Promise<(rel: string) => boolean> {
  const patterns = (await readFile(path.join(context, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const res = patterns.map((p) => {
    const anywhere = p.startsWith('**/');
    const body = (anywhere ? p.slice(3) : p).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
    return new RegExp(anywhere ? `(^|/)${body}$` : `^${body}$`);
  });
  return (rel) => res.some((r) => r.test(rel));
}

/** COPY src… dest, as Docker does it: a folder's contents into dest; a `*` in a source's last name is a glob. */
async function copy(
  ins: Instruction,
  o: { from: string; fromContext: boolean; ignore: (rel: string) => boolean; to: string; workdir: string },
): Promise<void> {
  const words = ins.args.split(' ').filter((a) => !a.startsWith('--'));
  const dest = words.pop()!;
  const destAbs = path.join(o.to, path.posix.resolve(o.workdir, dest));
  const sources: string[] = [];
  for (const w of words) {
    const rel = w.replace(/^\//, '');
    const base = path.posix.basename(rel);
    if (!base.includes('*')) {
      sources.push(rel);
      continue;
    }
    const dir = path.posix.dirname(rel);
    const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    for (const f of await readdir(path.join(o.from, dir))) if (re.test(f)) sources.push(path.posix.join(dir, f));
  }
  const intoFolder = dest.endsWith('/') || sources.length > 1;
  for (const rel of sources) {
    const src = path.join(o.from, rel);
    const filter = (p: string) => !o.fromContext || !o.ignore(path.relative(o.from, p));
    const isDir = (await stat(src)).isDirectory();
    const target = isDir || !intoFolder ? destAbs : path.join(destAbs, path.posix.basename(rel));
    await mkdir(isDir ? target : path.dirname(target), { recursive: true });
    // From a stage (a whole node_modules, say) with cp -a, far faster than fs.cp; from the context, with the filter.
    if (!o.fromContext) await run('cp', ['-a', isDir ? `${src}/.` : src, target]);
    else await cp(src, target, { recursive: true, verbatimSymlinks: true, filter, force: true });
  }
}

/** Removes a scratch folder (its node_modules copy is large). */
export async function removeScratch(scratch: string): Promise<void> {
  await rm(scratch, { recursive: true, force: true });
}
