#!/usr/bin/env node
// The import graph of packages/*/src (tests left out, type-only imports counted: a circle of types is still a
// circle a reader has to untangle): exits 1 naming each import cycle, each package imported against the layering
// (core ← coordinator, worker, merge ← cli), and each command that imports another command. `npm run lint` runs it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What each package may import, besides itself. */
export const LAYERS = {
  core: [],
  coordinator: ['core'],
  worker: ['core'],
  merge: ['core'],
  cli: ['core', 'coordinator', 'worker', 'merge'],
};
/** Package subpath exports, as package.json's "exports" map them to sources. */
const SUBPATHS = {
  '@batchscore/core/s3': 'core/src/store/S3Store.ts',
  '@batchscore/coordinator/kube': 'coordinator/src/kube/index.ts',
};

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports, statically or with import(). */
export function specifiersIn(text) {
  const out = [];
  // `import … from 'x'`, `export … from 'x'`, `import('x')` (a lazy command, or a type), `import 'x'`.
  const re = new RegExp(
    [
      /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/.source,
      /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/.source,
      /(?:^|\n)\s*import\s*['"]([^'"]+)['"]/.source,
    ].join('|'),
    'g',
  );
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function resolve(from, spec) {
  if (spec.startsWith('.')) {
    const base = path.resolve(path.dirname(from), spec).replace(/\.js$/, '');
    for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (exists(c)) return c;
    return undefined;
  }
  if (SUBPATHS[spec]) return path.join(ROOT, 'packages', SUBPATHS[spec]);
  const m = /^@batchscore\/([a-z]+)$/.exec(spec);
  return m ? path.join(ROOT, 'packages', m[1], 'src', 'index.ts') : undefined;
}

function exists(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

const packageOf = (file) => path.relative(path.join(ROOT, 'packages'), file).split(path.sep)[0];

export function checkImports() {
  const files = walk(path.join(ROOT, 'packages')).filter((f) => f.includes(`${path.sep}src${path.sep}`));
  const graph = new Map(files.map((f) => [f, specifiersIn(readFileSync(f, 'utf8')).map((s) => [s, resolve(f, s)])]));
  const problems = [];
  const rel = (f) => path.relative(ROOT, f);
  for (const [file, deps] of graph) {
    const pkg = packageOf(file);
    for (const [spec, to] of deps) {
      if (!to) continue;
      const target = packageOf(to);
      if (target !== pkg && !LAYERS[pkg].includes(target))
        problems.push(`${rel(file)} imports ${spec}: ${pkg} may import only ${LAYERS[pkg].join(', ') || 'itself'}`);
      const commands = `${path.sep}cli${path.sep}src${path.sep}commands${path.sep}`;
      if (file.includes(commands) && to.includes(commands))
        problems.push(`${rel(file)} imports the command ${rel(to)}: what two commands share lives beside them`);
    }
  }
  const edges = new Map([...graph].map(([f, deps]) => [f, deps.map(([, to]) => to).filter((t) => graph.has(t))]));
  for (const cycle of findCycles(edges)) problems.push(`import cycle: ${cycle.map(rel).join(' ↔ ')}`);
  return { modules: graph.size, problems };
}

/**
 * The cycles of a graph (node → the nodes it imports): each strongly connected component of more than one node, or
 * a node that imports itself, its nodes sorted (Tarjan's algorithm).
 */
export function findCycles(graph) {
  const cycles = [];
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return cycles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { modules, problems } = checkImports();
  for (const p of problems) console.error(p);
  console.log(`check-imports: ${modules} modules, ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  process.exitCode = problems.length ? 1 : 0;
}
