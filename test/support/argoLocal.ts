import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BIN } from './cli.js';

/**
 * Runs a rendered batchscore Workflow the way Argo would, but with local processes: the DAG in dependency order,
 * withSequence fan-out (at most the template's parallelism at once), Argo's {{…}} variables substituted, each
 * container's command/args/env as rendered (secretKeyRef resolved from `secrets`), volume mounts mapped to fresh
 * folders, output parameters read from their paths, retryStrategy (limit + `asInt(lastRetry.exitCode) == N`),
 * and the onExit handler with its `when`. It covers what batchscore's templates use, not all of Argo.
 */
type Obj = Record<string, any>;

export interface PodRun {
  template: string;
  args: string[];
  exitCode: number;
  attempt: number;
  stderr: string;
}
export interface LocalArgoResult {
  phase: 'Succeeded' | 'Failed';
  pods: PodRun[];
  outputs: Record<string, Record<string, string>>;
}

export async function runWorkflowLocally(
  wf: Obj,
  opts: { parameters?: Record<string, string>; secrets?: Record<string, Record<string, string>>; env?: Record<string, string>; name?: string },
): Promise<LocalArgoResult> {
  const spec = wf.spec as Obj;
  const templates = new Map<string, Obj>(spec.templates.map((t: Obj) => [t.name, t]));
  const globals: Record<string, string> = { 'workflow.name': opts.name ?? 'local-wf' };
  for (const p of spec.arguments?.parameters ?? []) globals[`workflow.parameters.${p.name}`] = opts.parameters?.[p.name] ?? p.value;
  for (const [k, v] of Object.entries(opts.parameters ?? {})) globals[`workflow.parameters.${k}`] = v;
  for (const [k, v] of Object.entries(globals)) if (v === undefined) throw new Error(`parameter ${k} has no value`);
  const pods: PodRun[] = [];
  const failures: Obj[] = [];
  const volumes = new Map<string, Obj>((spec.volumes ?? []).map((v: Obj) => [v.name, v]));

  const runPod = async (tname: string, vars: Record<string, string>): Promise<{ ok: boolean; outputs: Record<string, string> }> => {
    const t = templates.get(tname);
    if (!t?.container) throw new Error(`template ${tname} is not a container template`);
    const c = t.container as Obj;
    if (JSON.stringify(c.command) !== '["batchscore"]') throw new Error(`unexpected command ${JSON.stringify(c.command)}`);
    const limit = Number(t.retryStrategy?.limit ?? 0);
    for (let attempt = 0; ; attempt++) {
      const mounts: [string, string][] = [];
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name)) throw new Error(`volume ${m.name} is not declared`);
        mounts.push([m.mountPath, await mkdtemp(path.join(tmpdir(), `argo-${m.name}-`))]);
      }
      const local = (s: string) => mounts.reduce((acc, [from, to]) => (acc.startsWith(from + '/') ? to + acc.slice(from.length) : acc), s);
      const args = (c.args as string[]).map((a) => local(substitute(a, vars)));
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...opts.env };
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) {
          const v = opts.secrets?.[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key];
          if (v === undefined) throw new Error(`secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key} not provided`);
          env[e.name] = v;
        } else env[e.name] = substitute(e.value, vars);
      }
      const r = await exec(args, env);
      pods.push({ template: tname, args, exitCode: r.code, attempt, stderr: r.stderr });
      if (r.code === 0) {
        const outputs: Record<string, string> = {};
        for (const p of t.outputs?.parameters ?? []) outputs[p.name] = (await readFile(local(p.valueFrom.path), 'utf8')).trim();
        return { ok: true, outputs };
      }
      const m = /^asInt\(lastRetry\.exitCode\) == (\d+)$/.exec(t.retryStrategy?.expression ?? '');
      if (t.retryStrategy?.expression && !m) throw new Error(`unsupported retry expression ${t.retryStrategy.expression}`);
      const retryable = m ? r.code === Number(m[1]) : true;
      if (!retryable || attempt >= limit) {
        failures.push({ displayName: tname, message: r.stderr.trim().split('\n').pop(), templateName: tname, phase: 'Failed' });
        return { ok: false, outputs: {} };
      }
    }
  };

  const runDag = async (dag: Obj, parallelism: number): Promise<{ ok: boolean; outputs: Record<string, Record<string, string>> }> => {
    const outputs: Record<string, Record<string, string>> = {};
    const done = new Set<string>();
    for (const task of topo(dag.tasks)) {
      const vars = { ...globals };
      for (const [tn, outs] of Object.entries(outputs)) for (const [k, v] of Object.entries(outs)) vars[`tasks.${tn}.outputs.parameters.${k}`] = v;
      const count = task.withSequence ? Number(substitute(String(task.withSequence.count), vars)) : undefined;
      if (count !== undefined && !Number.isInteger(count)) throw new Error(`withSequence count ${task.withSequence.count} is not an integer`);
      const items = count === undefined ? [undefined] : Array.from({ length: count }, (_, i) => String(i));
      let ok = true;
      let next = 0;
      const lane = async () => {
        while (ok && next < items.length) {
          const item = items[next++];
          const iv = { ...vars, ...(item !== undefined ? { item } : {}) };
          const inputs: Record<string, string> = {};
          for (const p of task.arguments?.parameters ?? []) inputs[`inputs.parameters.${p.name}`] = substitute(p.value, iv);
          const r = await runPod(task.template, { ...iv, ...inputs });
          if (!r.ok) ok = false;
          else if (count === undefined) outputs[task.name] = r.outputs;
        }
      };
      await Promise.all(Array.from({ length: count === undefined ? 1 : Math.max(1, Math.min(parallelism, items.length)) }, lane));
      if (!ok) return { ok: false, outputs };
      done.add(task.name);
    }
    return { ok: true, outputs };
  };

  const main = templates.get(spec.entrypoint)!;
  const r = await runDag(main.dag, main.parallelism ?? Infinity);
  const phase = r.ok ? 'Succeeded' : 'Failed';
  if (spec.onExit) {
    const exitVars = { ...globals, 'workflow.status': phase, 'workflow.failures': JSON.stringify(failures) };
    for (const task of topo(templates.get(spec.onExit)!.dag.tasks as Obj[])) {
      if (task.when && !evalWhen(substitute(task.when, exitVars))) continue;
      await runPod(task.template, exitVars);
    }
  }
  return { phase, pods, outputs: r.outputs };
}

function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\{\{([^{}=][^{}]*)\}\}/g, (whole, key: string) => {
    const v = vars[key.trim()];
    if (v === undefined) throw new Error(`unresolved Argo variable ${whole}`);
    return v;
  });
}

function evalWhen(s: string): boolean {
  const m = /^(\S+) (!=|==) (\S+)$/.exec(s.trim());
  if (!m) throw new Error(`unsupported when expression ${s}`);
  return m[2] === '==' ? m[1] === m[3] : m[1] !== m[3];
}

function topo(tasks: Obj[]): Obj[] {
  const out: Obj[] = [];
  const seen = new Set<string>();
  const visit = (t: Obj) => {
    if (seen.has(t.name)) return;
    seen.add(t.name);
    for (const d of String(t.depends ?? '').split(/&&|\|\|/).map((x) => x.trim().split('.')[0]).filter(Boolean)) {
      visit(tasks.find((x) => x.name === d)!);
    }
    out.push(t);
  };
  tasks.forEach(visit);
  return out;
}

function exec(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stderr });
    });
  });
}
