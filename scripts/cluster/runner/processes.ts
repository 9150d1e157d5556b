// Finding and stopping a container's processes: a cgroup per container where the machine lets us make one (so
// that every process a container started, also those in process groups of their own, as argoexec's child is, can
// be found and killed), and pids with their start times (a recycled pid never matches). cluster.mjs `down` uses
// sweepCgroups and removeCgroups after the runner itself is gone.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './log.js';

export function pickCgroupBase(stateDir: string): string | undefined {
  const id = 'batchscore-cluster-' + createHash('sha256').update(stateDir).digest('hex').slice(0, 10);
  const candidates: string[] = [];
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

export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function killPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The host pid of the process `unshare --fork` (pid) started: pid 1 of the new pid namespace. */
export async function nsInitPid(pid: number): Promise<number | undefined> {
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

/** The last `bytes` of a file, '' when there is none. */
export function tail(file: string, bytes: number): string {
  try {
    const b = readFileSync(file);
    return b.subarray(Math.max(0, b.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

function cgroupBaseOf(stateDir: string): string {
  try {
    return readFileSync(join(stateDir, 'cgroup'), 'utf8').trim();
  } catch {
    return '';
  }
}

/** Kills what is left in a runner's cgroups (for `down`, after the runner itself is gone); returns how many. */
export function sweepCgroups(stateDir: string): number {
  const base = cgroupBaseOf(stateDir);
  if (!base || !existsSync(base)) return 0;
  let killed = 0;
  for (const d of readdirSync(base)) {
    const pids = cgroupPids(join(base, d));
    killed += pids.length;
    killPids(pids, 'SIGKILL');
  }
  return killed;
}

/** Removes the runner's (now empty) cgroups. */
export function removeCgroups(stateDir: string): void {
  const base = cgroupBaseOf(stateDir);
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
