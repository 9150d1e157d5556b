import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BIN } from './cli.js';
import type { argo } from '@batchscore/coordinator';

/**
 * Runs a rendered batchscore Workflow the way Argo would, but with local processes: the DAG in dependency order,
 * withSequence fan-out (at most the template's parallelism at once), Argo's {{…}} variables substituted, each
 * container's command/args/env as rendered (secretKeyRef resolved from `secrets`), volume mounts mapped to fresh
 * folders, output parameters read from their paths, retryStrategy (limit, and the expression evaluated as Argo does:
 * see evalArgoExpression), and the onExit handler with its `when`. It covers what batchscore's templates use, not all
 * of Argo.
 */

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
  wf: { spec: argo.WorkflowSpec },
  opts: {
    parameters?: Record<string, string>;
    secrets?: Record<string, Record<string, string>>;
    configMaps?: Record<string, Record<string, string>>;
    env?: Record<string, string>;
    name?: string;
  },
): Promise<LocalArgoResult> {
  const spec = wf.spec;
  const templates = new Map((spec.templates ?? []).map((t) => [t.name!, t]));
  const globals: Record<string, string> = { 'workflow.name': opts.name ?? 'local-wf' };
  for (const p of spec.arguments?.parameters ?? [])
    globals[`workflow.parameters.${p.name}`] = opts.parameters?.[p.name] ?? p.value!;
  for (const [k, v] of Object.entries(opts.parameters ?? {})) globals[`workflow.parameters.${k}`] = v;
  for (const [k, v] of Object.entries(globals)) if (v === undefined) throw new Error(`parameter ${k} has no value`);
  const pods: PodRun[] = [];
  const failures: { displayName: string; message?: string; templateName: string; phase: string }[] = [];
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));

  const runPod = async (
    tname: string,
    vars: Record<string, string>,
  ): Promise<{ ok: boolean; outputs: Record<string, string> }> => {
    const t = templates.get(tname);
    if (!t?.container) throw new Error(`template ${tname} is not a container template`);
    const c = t.container;
    if (JSON.stringify(c.command) !== '["batchscore"]')
      throw new Error(`unexpected command ${JSON.stringify(c.command)}`);
    const limit = Number(t.retryStrategy?.limit ?? 0);
    for (let attempt = 0; ; attempt++) {
      const mounts: [string, string][] = [];
      for (const m of c.volumeMounts ?? []) {
        const v = volumes.get(m.name);
        if (!v) throw new Error(`volume ${m.name} is not declared`);
        const dir = await mkdtemp(path.join(tmpdir(), `argo-${m.name}-`));
        if (v.configMap) {
          // A configMap volume: its items' keys as files, as the kubelet projects them.
          const data = opts.configMaps?.[v.configMap.name ?? ''];
          if (!data) throw new Error(`configMap ${v.configMap.name} not provided`);
          for (const item of v.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
            if (data[item.key] === undefined) throw new Error(`configMap ${v.configMap.name} has no key ${item.key}`);
            await writeFile(path.join(dir, item.path), data[item.key]!);
          }
        }
        mounts.push([m.mountPath, dir]);
      }
      const local = (s: string) =>
        mounts.reduce((acc, [from, to]) => (acc.startsWith(from + '/') ? to + acc.slice(from.length) : acc), s);
      const args = (c.args ?? []).map((a) => local(substitute(a, vars)));
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...opts.env };
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) {
          const v = opts.secrets?.[e.valueFrom.secretKeyRef.name ?? '']?.[e.valueFrom.secretKeyRef.key];
          if (v === undefined)
            throw new Error(`secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key} not provided`);
          env[e.name] = v;
        } else env[e.name] = substitute(e.value ?? '', vars);
      }
      const r = await exec(args, env);
      pods.push({ template: tname, args, exitCode: r.code, attempt, stderr: r.stderr });
      if (r.code === 0) {
        const outputs: Record<string, string> = {};
        for (const p of t.outputs?.parameters ?? [])
          outputs[p.name] = (await readFile(local(p.valueFrom!.path!), 'utf8')).trim();
        return { ok: true, outputs };
      }
      // A local process always exits with a code, so the node is Failed with Argo's message for it.
      const expr = t.retryStrategy?.expression;
      const retryable = expr
        ? evalArgoExpression(
            expr,
            retryScope({ exitCode: r.code, status: 'Failed', message: `Error (exit code ${r.code})` }),
          ) === true
        : true;
      if (!retryable || attempt >= limit) {
        failures.push({
          displayName: tname,
          message: r.stderr.trim().split('\n').pop(),
          templateName: tname,
          phase: 'Failed',
        });
        return { ok: false, outputs: {} };
      }
    }
  };

  const runDag = async (
    dag: argo.DAGTemplate,
    parallelism: number,
  ): Promise<{ ok: boolean; outputs: Record<string, Record<string, string>> }> => {
    const outputs: Record<string, Record<string, string>> = {};
    const done = new Set<string>();
    for (const task of topo(dag.tasks)) {
      const vars = { ...globals };
      for (const [tn, outs] of Object.entries(outputs))
        for (const [k, v] of Object.entries(outs)) vars[`tasks.${tn}.outputs.parameters.${k}`] = v;
      if (task.when && !evalWhen(substitute(task.when, vars))) {
        done.add(task.name);
        continue;
      }
      const count = task.withSequence ? Number(substitute(String(task.withSequence.count), vars)) : undefined;
      if (count !== undefined && !Number.isInteger(count))
        throw new Error(`withSequence count ${task.withSequence?.count} is not an integer`);
      const items = count === undefined ? [undefined] : Array.from({ length: count }, (_, i) => String(i));
      let ok = true;
      let next = 0;
      const lane = async () => {
        while (ok && next < items.length) {
          const item = items[next++];
          const iv = { ...vars, ...(item !== undefined ? { item } : {}) };
          const inputs: Record<string, string> = {};
          for (const p of task.arguments?.parameters ?? [])
            inputs[`inputs.parameters.${p.name}`] = substitute(p.value ?? '', iv);
          const r = await runPod(task.template!, { ...iv, ...inputs });
          if (!r.ok) ok = false;
          else if (count === undefined) outputs[task.name] = r.outputs;
        }
      };
      await Promise.all(
        Array.from({ length: count === undefined ? 1 : Math.max(1, Math.min(parallelism, items.length)) }, lane),
      );
      if (!ok) return { ok: false, outputs };
      done.add(task.name);
    }
    return { ok: true, outputs };
  };

  const main = templates.get(spec.entrypoint!)!;
  const r = await runDag(main.dag!, Number(main.parallelism ?? Infinity));
  const phase = r.ok ? 'Succeeded' : 'Failed';
  if (spec.onExit) {
    const exitVars = { ...globals, 'workflow.status': phase, 'workflow.failures': JSON.stringify(failures) };
    for (const task of topo(templates.get(spec.onExit)!.dag!.tasks)) {
      if (task.when && !evalWhen(substitute(task.when, exitVars))) continue;
      await runPod(task.template!, exitVars);
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

function topo(tasks: argo.DAGTask[]): argo.DAGTask[] {
  const out: argo.DAGTask[] = [];
  const seen = new Set<string>();
  const visit = (t: argo.DAGTask) => {
    if (seen.has(t.name)) return;
    seen.add(t.name);
    for (const d of String(t.depends ?? '')
      .split(/&&|\|\|/)
      .map((x) => x.trim().split('.')[0])
      .filter(Boolean)) {
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
      resolve({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0,
        stderr,
      });
    });
  });
}

/**
 * Argo's expressions (retryStrategy.expression, {{= }}) are expr-lang (github.com/expr-lang/expr v1.17, Argo
 * v4.0.5). This evaluates the subset batchscore renders, with expr's semantics: `||`/`or` and `&&`/`and`
 * short-circuit (`||` binds looser than `&&`), `==`/`!=` compare without conversion ("75" != 75), `in` looks in
 * an array, `matches` is a regular-expression search, `+` adds numbers or joins strings, `!`/`not` negate, and
 * `a.b` reads a map key (a missing key is nil). Functions come from `env` (Argo's asInt, sprig.*). Anything else
 * throws, as a compile or run error does in Argo (which then marks the node Error).
 */
export function evalArgoExpression(src: string, env: Record<string, unknown>): unknown {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i];
  const take = (v?: string) => {
    const t = toks[i];
    if (t === undefined || (v !== undefined && t.v !== v))
      throw new Error(`expression ${src}: expected ${v ?? 'more'} at token ${i} (${t?.v ?? 'end'})`);
    i++;
    return t;
  };
  const isOp = (...vs: string[]) => peek()?.kind === 'op' && vs.includes(peek()!.v);
  type Thunk = () => unknown;
  const or = (): Thunk => {
    let l = and();
    while (isOp('||', 'or')) {
      take();
      const a = l;
      const b = and();
      l = () => truthy(a()) || truthy(b());
    }
    return l;
  };
  const and = (): Thunk => {
    let l = cmp();
    while (isOp('&&', 'and')) {
      take();
      const a = l;
      const b = cmp();
      l = () => truthy(a()) && truthy(b());
    }
    return l;
  };
  const cmp = (): Thunk => {
    const l = add();
    if (!isOp('==', '!=', 'in', 'matches')) return l;
    const op = take().v;
    const r = add();
    return () => {
      const a = l();
      const b = r();
      if (op === '==') return a === b;
      if (op === '!=') return a !== b;
      if (op === 'in') {
        if (!Array.isArray(b)) throw new Error(`expression ${src}: in needs an array, got ${typeof b}`);
        return b.includes(a);
      }
      if (typeof a !== 'string' || typeof b !== 'string')
        throw new Error(`expression ${src}: matches needs strings, got ${typeof a} and ${typeof b}`);
      return new RegExp(b).test(a);
    };
  };
  const add = (): Thunk => {
    let l = unary();
    while (isOp('+')) {
      take();
      const a = l;
      const b = unary();
      l = () => {
        const x = a();
        const y = b();
        if (typeof x === 'string' && typeof y === 'string') return x + y;
        if (typeof x === 'number' && typeof y === 'number') return x + y;
        throw new Error(`expression ${src}: invalid operation ${typeof x} + ${typeof y}`);
      };
    }
    return l;
  };
  const unary = (): Thunk => {
    if (isOp('!', 'not')) {
      take();
      const a = unary();
      return () => !truthy(a());
    }
    return postfix();
  };
  const postfix = (): Thunk => {
    let l = primary();
    for (;;) {
      if (isOp('.')) {
        take();
        const key = take().v;
        const a = l;
        l = () => {
          const o = a();
          if (o === null || typeof o !== 'object')
            throw new Error(`expression ${src}: cannot read .${key} of ${String(o)}`);
          return (o as Record<string, unknown>)[key];
        };
      } else if (isOp('(')) {
        take();
        const args: Thunk[] = [];
        while (!isOp(')')) {
          args.push(or());
          if (!isOp(')')) take(',');
        }
        take(')');
        const f = l;
        l = () => {
          const fn = f();
          if (typeof fn !== 'function') throw new Error(`expression ${src}: ${String(fn)} is not a function`);
          return fn(...args.map((a) => a()));
        };
      } else return l;
    }
  };
  const primary = (): Thunk => {
    const t = take();
    if (t.kind === 'str' || t.kind === 'num') {
      const v = t.kind === 'num' ? Number(t.v) : t.v;
      return () => v;
    }
    if (t.kind === 'id') return () => env[t.v];
    if (t.v === '(') {
      const e = or();
      take(')');
      return e;
    }
    if (t.v === '[') {
      const items: Thunk[] = [];
      while (!isOp(']')) {
        items.push(or());
        if (!isOp(']')) take(',');
      }
      take(']');
      return () => items.map((x) => x());
    }
    throw new Error(`expression ${src}: unexpected ${t.v}`);
  };
  const e = or();
  if (i !== toks.length) throw new Error(`expression ${src}: unexpected ${toks[i]!.v}`);
  return e();
}

function truthy(v: unknown): boolean {
  // expr-lang's && and || take booleans only.
  if (typeof v !== 'boolean') throw new Error(`expected bool, got ${JSON.stringify(v)}`);
  return v;
}

type Tok = { kind: 'str' | 'num' | 'id' | 'op'; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s+|(\d+)|([A-Za-z_][A-Za-z0-9_]*)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\|\||&&|==|!=|[!()[\],.+])/y;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < src.length) {
    re.lastIndex = at;
    m = re.exec(src);
    if (!m) throw new Error(`expression ${src}: cannot read it at ${at}`);
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ kind: 'num', v: m[1] });
    else if (m[2] !== undefined)
      out.push({ kind: ['in', 'matches', 'and', 'or', 'not'].includes(m[2]) ? 'op' : 'id', v: m[2] });
    else if (m[3] !== undefined) out.push({ kind: 'str', v: m[3].replace(/\\(.)/g, '$1') });
    else if (m[4] !== undefined) out.push({ kind: 'str', v: m[4].replace(/\\(.)/g, '$1') });
    else if (m[5] !== undefined) out.push({ kind: 'op', v: m[5] });
  }
  return out;
}

/**
 * The retry expression's scope as Argo v4.0.5 builds it (workflow/controller/operator.go,
 * buildRetryStrategyLocalScope): lastRetry.exitCode is the previous attempt's exit code as a string, "-1" when it
 * has none (a pod deleted while running); status its node phase (Failed, Error); message the node's message.
 * asInt is expr's int(), which throws on a string that is not a number.
 */
export function retryScope(last: {
  exitCode?: number;
  status: 'Failed' | 'Error';
  message: string;
}): Record<string, unknown> {
  return {
    lastRetry: {
      exitCode: last.exitCode === undefined ? '-1' : String(last.exitCode),
      status: last.status,
      duration: '1',
      message: last.message,
    },
    asInt: (v: unknown) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^[+-]?\d+$/.test(v) ? Number(v) : NaN;
      if (Number.isNaN(n)) throw new Error(`invalid operation: int(${String(v)})`);
      return Math.trunc(n);
    },
  };
}
