import type { Node, ParseContext, PathPart } from './node.js';
import { show } from './show.js';

export interface SpecProblem {
  path: string;
  message: string;
}

/**
 * Checks a document against a schema node and builds the parsed value: defaults filled in, conversions applied.
 * Every problem is collected, in the order of the schema's fields; value is only meaningful when there are none.
 */
export function validateNode<T>(
  n: Node<T>,
  raw: unknown,
  ctx: ParseContext,
): { value: T | undefined; problems: SpecProblem[] } {
  const problems: SpecProblem[] = [];
  const value = walk(n, raw, '', { ctx, bad: (path, message) => problems.push({ path, message }) }) as T | undefined;
  return { value, problems };
}

interface Walk {
  ctx: ParseContext;
  bad: (path: string, message: string) => void;
}

export function joinPath(path: string, part: PathPart): string {
  if (typeof part === 'number') return `${path}[${part}]`;
  return path ? `${path}.${part}` : part;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The value, or undefined when it broke a rule (reported through w.bad). Objects come back with their good fields. */
function walk(n: Node, raw: unknown, path: string, w: Walk): unknown {
  const here = path || '(document)';
  /** Reports the problem at this node; undefined, the walk's "no value". */
  const fail = (message = expectedMessage(n.rule!, raw)): undefined => {
    w.bad(here, message);
    return undefined;
  };
  let value: unknown;
  const d = n.def;
  switch (d.kind) {
    case 'string': {
      const s = d.coerceNumber && typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
      if (typeof s !== 'string' || (d.nonEmpty && s.trim() === '')) return fail();
      if ((d.pattern && !d.pattern.test(s)) || (d.maxLength !== undefined && s.length > d.maxLength))
        return fail(d.patternMessage?.(s));
      if (d.then) {
        const r = d.then(s, w.ctx);
        if ('error' in r) return fail(r.error);
        value = r.value;
      } else value = s;
      break;
    }
    case 'number': {
      const ok = d.integer ? Number.isSafeInteger(raw) : typeof raw === 'number' && Number.isFinite(raw);
      if (!ok || (d.min !== undefined && (raw as number) < d.min)) return fail();
      if (d.max !== undefined && (raw as number) > d.max) return fail(d.maxMessage?.(raw as number));
      value = raw;
      break;
    }
    case 'boolean':
      if (typeof raw !== 'boolean') return fail();
      value = raw;
      break;
    case 'literal':
      if (raw !== d.value) return fail();
      value = raw;
      break;
    case 'enum':
      if (typeof raw !== 'string' || !d.values.includes(raw)) return fail();
      value = raw;
      break;
    case 'list': {
      if (!Array.isArray(raw) || raw.length < d.minItems) return fail();
      const out: unknown[] = [];
      raw.forEach((item, i) => {
        const v = walk(d.item, item, joinPath(path, i), w);
        if (v !== undefined) out.push(v);
      });
      value = out;
      break;
    }
    case 'record': {
      if (!isMapping(raw)) return fail();
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(raw)) {
        const at = joinPath(path, k);
        if (d.keyPattern && !d.keyPattern.test(k)) {
          w.bad(at, d.keyMessage ? d.keyMessage(k) : 'is not a valid key');
          continue;
        }
        const v = walk(d.value, item, at, w);
        if (v !== undefined) out[k] = v;
      }
      value = out;
      break;
    }
    case 'object': {
      if (!isMapping(raw)) return fail();
      const keys = Object.keys(d.fields);
      for (const k of Object.keys(raw)) {
        if (!(k in d.fields)) w.bad(joinPath(path, k), `unknown field (expected one of ${keys.join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(d.fields)) {
        const at = joinPath(path, k);
        let given = raw[k];
        if (given === undefined) {
          if (f.presence === 'required') {
            w.bad(at, 'is required');
            continue;
          }
          if (f.presence === 'optional') continue;
          if (typeof f.default === 'function') {
            const v = (f.default as (o: Record<string, unknown>) => unknown)(out);
            if (v !== undefined) out[k] = v;
            continue;
          }
          given = structuredClone(f.default);
        }
        const v = walk(f, given, at, w);
        if (v !== undefined) out[k] = v;
      }
      value = out;
      break;
    }
    case 'union': {
      for (const o of d.options) {
        const trial: string[] = [];
        const v = walk(o, raw, path, { ctx: w.ctx, bad: (p) => trial.push(p) });
        if (trial.length === 0 && v !== undefined) {
          value = v;
          break;
        }
      }
      if (value !== undefined) break;
      const same = d.options.filter(
        (o) => nodeType(o) === valueType(raw) || (nodeType(o) === 'string' && typeof raw === 'number' && coerces(o)),
      );
      if (!d.reportOption || same.length !== 1) return fail();
      walk(same[0]!, raw, path, w);
      return undefined;
    }
    case 'map': {
      const v = walk(d.inner, raw, path, w);
      if (v === undefined) return undefined;
      value = d.fn(v);
      // A map to undefined drops the field (allowEmpty: false), it is not a problem.
      if (value === undefined) return undefined;
      break;
    }
  }
  if (n.refine) {
    n.refine(value, {
      raw,
      bad: (message, ...at) => w.bad(at.reduce<string>((p, part) => joinPath(p, part), path) || '(document)', message),
    });
  }
  return value;
}

/** `expected <rule>, got <value>`; a rule that ends in ';' (it lists examples with commas) is followed by no comma. */
function expectedMessage(rule: string, raw: unknown): string {
  return `expected ${rule}${rule.endsWith(';') ? '' : ','} got ${show(raw)}`;
}

/** The JSON type a node's values have, to pick the option of a union whose problems to report. */
function nodeType(n: Node): string {
  const d = n.def;
  switch (d.kind) {
    case 'string':
    case 'literal':
    case 'enum':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'list':
      return 'array';
    case 'record':
    case 'object':
      return 'mapping';
    case 'map':
      return nodeType(d.inner);
    case 'union':
      return 'union';
  }
}

function valueType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'mapping' : typeof v;
}

function coerces(n: Node): boolean {
  return n.def.kind === 'string' ? Boolean(n.def.coerceNumber) : n.def.kind === 'map' ? coerces(n.def.inner) : false;
}
