import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { BIN, REPO } from '../../support/cli.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a client of the test cluster: its kubeconfig, and the pinned kubectl/argo/helm first on PATH. */
export function clusterEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KUBECONFIG: inject('kubeconfig'),
    PATH: `${inject('clusterBin')}:${process.env.PATH}`,
    ...extra,
  };
}

export function sh(
  cmd: string,
  args: string[],
  o: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: REPO, env: clusterEnv(o.env), maxBuffer: 64 << 20, timeout: o.timeoutMs ?? 300_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
}

export const kubectl = (args: string[], o: Parameters<typeof sh>[2] = {}) => sh('kubectl', args, o);
export const batchscore = (args: string[], o: Parameters<typeof sh>[2] = {}) => sh(process.execPath, [BIN, ...args], o);

/** Runs a command and fails the test with its output unless it exits 0. */
export async function ok(r: Promise<Run>): Promise<string> {
  const x = await r;
  if (x.code !== 0) throw new Error(`exit ${x.code}\n${x.stdout}\n${x.stderr}`);
  return x.stdout;
}

/**
 * A fresh namespace set up as docs/kubernetes.md says a team does: the project's RBAC and GPU semaphore applied with
 * `kubectl -n NS apply` (the manifests name no namespace), and the S3 Secret the job's s3Secret names. `bare`: the
 * Secret only, for the chart's tests (the chart brings the ServiceAccounts and Roles).
 */
export async function newNamespace(prefix: string, o: { bare?: boolean } = {}): Promise<string> {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await ok(kubectl(['create', 'namespace', ns]));
  if (!o.bare)
    await ok(kubectl(['-n', ns, 'apply', '-f', 'manifests/rbac.yaml', '-f', 'manifests/gpu-semaphore.yaml']));
  await ok(
    kubectl([
      '-n',
      ns,
      'create',
      'secret',
      'generic',
      'batchscore-s3',
      '--from-literal=AWS_ACCESS_KEY_ID=test',
      '--from-literal=AWS_SECRET_ACCESS_KEY=test',
    ]),
  );
  if (o.bare) return ns;
  // The pods run as the batchscore ServiceAccount only; wait for it and its namespace's default one.
  for (let i = 0; i < 60; i++) {
    if ((await kubectl(['-n', ns, 'get', 'serviceaccount', 'default', 'batchscore'])).code === 0) return ns;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`namespace ${ns}: service accounts never appeared`);
}

export interface WorkflowNode {
  id: string;
  name: string;
  displayName: string;
  type: string;
  templateName?: string;
  phase: string;
  message?: string;
  hostNodeName?: string;
  startedAt?: string;
  finishedAt?: string;
  children?: string[];
  outputs?: { parameters?: { name: string; value?: string }[]; exitCode?: string };
}
export interface Workflow {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  status?: { phase?: string; message?: string; nodes?: Record<string, WorkflowNode> };
}

export async function getWorkflow(ns: string, name: string): Promise<Workflow> {
  return JSON.parse(await ok(kubectl(['-n', ns, 'get', 'workflow', name, '-o', 'json']))) as Workflow;
}

/** Polls until the Workflow has finished (Succeeded, Failed or Error) and returns it. */
export async function waitForWorkflow(ns: string, name: string, timeoutMs = 300_000): Promise<Workflow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wf = await getWorkflow(ns, name);
    const phase = wf.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Error') return wf;
    if (Date.now() > deadline)
      throw new Error(
        `workflow ${ns}/${name} still ${phase ?? 'pending'} after ${timeoutMs / 1000}s: ` +
          `${JSON.stringify(wf.status?.nodes ?? {}, null, 1).slice(0, 4000)}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The name kubectl create printed: `workflow.argoproj.io/NAME created`. */
export function createdName(stdout: string): string {
  const m = /workflow\.argoproj\.io\/(\S+) created/.exec(stdout);
  if (!m) throw new Error(`no workflow created: ${stdout}`);
  return m[1]!;
}

export function podNodes(wf: Workflow, template?: string): WorkflowNode[] {
  return Object.values(wf.status?.nodes ?? {})
    .filter((n) => n.type === 'Pod' && (template === undefined || n.templateName === template))
    .sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.name.localeCompare(b.name));
}

export interface PodSample {
  at: number;
  running: string[];
  pending: string[];
}

/**
 * Samples a workflow's pods of one template (by the workflows.argoproj.io/workflow label and the container's
 * args) every 300 ms until stopped: what ran at once, and what waited. Pods vanish once collected (podGC), so this
 * is watched live.
 */
export function samplePods(ns: string, wf: string, argMatch: RegExp): { stop: () => Promise<PodSample[]> } {
  const samples: PodSample[] = [];
  let done = false;
  const loop = (async () => {
    while (!done) {
      const r = await kubectl(['-n', ns, 'get', 'pods', '-l', `workflows.argoproj.io/workflow=${wf}`, '-o', 'json']);
      if (r.code === 0) {
        const items = (
          JSON.parse(r.stdout) as {
            items: {
              metadata: { name: string };
              status: { phase: string };
              spec: { containers: { name: string; args?: string[] }[] };
            }[];
          }
        ).items.filter((p) =>
          p.spec.containers.some((c) => c.name === 'main' && argMatch.test((c.args ?? []).join(' '))),
        );
        samples.push({
          at: Date.now(),
          running: items.filter((p) => p.status.phase === 'Running').map((p) => p.metadata.name),
          pending: items.filter((p) => p.status.phase === 'Pending').map((p) => p.metadata.name),
        });
      }
      await new Promise((res) => setTimeout(res, 300));
    }
  })();
  return {
    stop: async () => {
      done = true;
      await loop;
      return samples;
    },
  };
}

/**
 * SIGKILLs the processes of this test cluster's pods whose command line matches `pattern`, as a node's OOM killer
 * would: only descendants of the cluster's own pod runner (its pid file beside the kubeconfig) are looked at, never a
 * process of another checkout or test run that happens to match. Returns the pids killed.
 */
export function killPodProcesses(pattern: RegExp): number[] {
  const runner = Number(readFileSync(path.join(path.dirname(inject('kubeconfig')), 'run', 'pod-runner.pid'), 'utf8'));
  const parentOf = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // The parent pid is the 4th field after the command's closing parenthesis.
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parentOf.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while the list was read.
    }
  }
  const underRunner = (pid: number): boolean => {
    for (let p = parentOf.get(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parentOf.get(p), hops++)
      if (p === runner) return true;
    return false;
  };
  const killed: number[] = [];
  for (const pid of parentOf.keys()) {
    if (!underRunner(pid)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    if (!pattern.test(cmd)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // It ended first.
    }
  }
  return killed;
}
