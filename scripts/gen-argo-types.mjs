#!/usr/bin/env node
// Writes packages/coordinator/src/render/argoTypes.ts: TypeScript types for Argo's Workflow, WorkflowTemplate and
// CronWorkflow, generated from Argo v4.1.2's own JSON Schema (api/jsonschema/schema.json, kept beside the
// repository in ../shared/conformance/argo-v4.1.2/). They replace the typed models of
// @kubernetes-models/argo-workflows, whose only release asks for Node >= 22.
//
//   node scripts/gen-argo-types.mjs [path/to/schema.json]     (default: ARGO_CONFORMANCE_DIR or ../shared/...)
//
// A small generator rather than json-schema-to-typescript: the schema uses a handful of keywords (type, $ref,
// properties, required, items, additionalProperties, const, enum), and writing them ourselves gives stable,
// short names (the definition's last segment: `Template`, `Container`) and no extra dependency tree.
// Only the definitions reachable from the three kinds are written. test/argo/argoTypes.test.ts checks that
// the committed file is what this script generates.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOTS = ['Workflow', 'WorkflowTemplate', 'CronWorkflow'].map((k) => `io.argoproj.workflow.v1alpha1.${k}`);
const ARGO_PREFIX = 'io.argoproj.workflow.v1alpha1.';
/**
 * Widened like test/support/argoSchema.ts widens them for validation: schema.json declares both `{type: string}`,
 * while the CRDs (and the API server) take an integer too (`retryStrategy.limit: 3`, `cpu: 1`).
 */
const OVERRIDES = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': 'number | string',
  'io.k8s.apimachinery.pkg.api.resource.Quantity': 'number | string',
};

const refName = (ref) => {
  const m = /^#\/definitions\/(.+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  return m[1];
};

/** Every definition key reachable from `roots` through $ref, in no particular order. */
export function reachable(definitions, roots = ROOTS) {
  const seen = new Set();
  const stack = [...roots];
  const visit = (node) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      if (typeof node.$ref === 'string') stack.push(refName(node.$ref));
      for (const [k, v] of Object.entries(node)) if (k !== 'description') visit(v);
    }
  };
  while (stack.length) {
    const key = stack.pop();
    if (seen.has(key)) continue;
    if (!definitions[key]) throw new Error(`schema.json has no definition ${key}`);
    seen.add(key);
    visit(definitions[key]);
  }
  return seen;
}

/**
 * A definition's TypeScript name: its last segment (`io.k8s.api.core.v1.Container` -> `Container`). Where two
 * reachable definitions share one (HTTPHeader: Argo's and core/v1's), Argo's keeps it and the other is prefixed
 * with its group and version (`CoreV1HTTPHeader`).
 */
export function typeNames(keys) {
  const count = new Map();
  for (const k of keys) count.set(last(k), (count.get(last(k)) ?? 0) + 1);
  const names = new Map();
  for (const k of keys) {
    let name = last(k);
    if (count.get(name) > 1 && !k.startsWith(ARGO_PREFIX)) {
      const parts = k
        .replace(/^io\.k8s\.(api|apimachinery\.pkg\.apis?)\./, '')
        .split('.')
        .slice(0, -1);
      name = parts.map((p) => p[0].toUpperCase() + p.slice(1)).join('') + name;
    }
    names.set(k, name);
  }
  const taken = new Set();
  for (const n of names.values()) {
    if (taken.has(n)) throw new Error(`two definitions would both be named ${n}`);
    taken.add(n);
  }
  return names;
}
const last = (key) => key.slice(key.lastIndexOf('.') + 1);

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k) => (IDENT.test(k) ? k : JSON.stringify(k));
const literal = (v) => (typeof v === 'string' ? `'${v.replace(/[\\']/g, '\\$&')}'` : JSON.stringify(v));

/** The TypeScript type of one schema node; `indent` is the indentation of the line the type starts on. */
function typeOf(schema, names, indent) {
  if (schema.$ref) return names.get(refName(schema.$ref));
  if (schema.const !== undefined) return literal(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map(literal).join(' | ');
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const item = schema.items ? typeOf(schema.items, names, indent) : 'unknown';
      return /^[A-Za-z0-9_]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case 'object':
    case undefined:
      if (schema.properties) return objectType(schema, names, indent);
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        return `Record<string, ${typeOf(schema.additionalProperties, names, indent)}>`;
      }
      return schema.type === 'object' ? 'Record<string, unknown>' : 'unknown';
    default:
      throw new Error(`unsupported type ${JSON.stringify(schema.type)}`);
  }
}

function objectType(schema, names, indent) {
  if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) {
    throw new Error('properties together with additionalProperties are not supported');
  }
  const required = new Set(schema.required ?? []);
  const inner = `${indent}  `;
  const lines = Object.entries(schema.properties).map(
    ([k, s]) => `${inner}${key(k)}${required.has(k) ? '' : '?'}: ${typeOf(s, names, inner)};`,
  );
  return `{\n${lines.join('\n')}\n${indent}}`;
}

/** The whole of argoTypes.ts for a parsed schema.json. */
export function generateArgoTypes(schema) {
  const definitions = schema.definitions;
  const keys = [...reachable(definitions)];
  const names = typeNames(keys);
  const order = [...ROOTS, ...keys.filter((k) => !ROOTS.includes(k)).sort((a, b) => cmp(names.get(a), names.get(b)))];
  const out = [
    "// GENERATED by scripts/gen-argo-types.mjs from Argo v4.1.2's api/jsonschema/schema.json",
    '// (../shared/conformance/argo-v4.1.2/schema.json). Do not edit: change the script and run it again.',
    '//',
    "// Argo's documents as TypeScript types: the definitions reachable from Workflow, WorkflowTemplate and",
    "// CronWorkflow, each named after its definition's last segment (the comment above each type gives the full",
    '// key). Deviations from the schema, both as Argo and Kubernetes accept documents:',
    '//  - IntOrString and Quantity are `number | string` (schema.json says string; the CRDs take either).',
    '//  - apiVersion and kind are required on the three kinds: the schema leaves them optional because the API',
    '//    server fills them in on reads, but a document sent to it must carry them.',
    "// Container is Argo's: only `image` is required (Argo names a template's main container `main`).",
    '',
  ];
  for (const k of order) {
    const def = definitions[k];
    const name = names.get(k);
    out.push(`/** ${k} */`);
    if (OVERRIDES[k]) {
      out.push(`export type ${name} = ${OVERRIDES[k]};`, '');
      continue;
    }
    let body = def;
    if (ROOTS.includes(k)) body = { ...def, required: [...new Set(['apiVersion', 'kind', ...(def.required ?? [])])] };
    const type = typeOf(body, names, '');
    out.push(type.startsWith('{\n') ? `export interface ${name} ${type}` : `export type ${name} = ${type};`, '');
  }
  return out.join('\n');
}
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export const OUTPUT = fileURLToPath(new URL('../packages/coordinator/src/render/argoTypes.ts', import.meta.url));

/** schema.json's path: the argument, else ARGO_CONFORMANCE_DIR, else ../shared next to the repository. */
export function schemaPath(arg = undefined, env = process.env) {
  if (arg) return arg;
  const dir = env.ARGO_CONFORMANCE_DIR
    ? env.ARGO_CONFORMANCE_DIR.replace(/\/?$/, '/')
    : fileURLToPath(new URL('../../shared/conformance/argo-v4.1.2/', import.meta.url));
  return `${dir}schema.json`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = schemaPath(process.argv[2]);
  if (!existsSync(file)) {
    console.error(`gen-argo-types: ${file} not found (pass the path of Argo v4.1.2's api/jsonschema/schema.json)`);
    process.exit(1);
  }
  writeFileSync(OUTPUT, generateArgoTypes(JSON.parse(readFileSync(file, 'utf8'))));
  console.log(`gen-argo-types: wrote ${OUTPUT}`);
}
