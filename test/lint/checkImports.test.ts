import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script, without types
import { checkImports, findCycles, specifiersIn } from '../../scripts/check-imports.mjs';

// The import graph of packages/*/src has no cycle (type-only imports included), follows the package layering and
// has no command importing another; `npm run lint` runs the same check.

describe('the import graph', () => {
  it('has no cycle, no import against the layering, no command importing another', () => {
    const { modules, problems } = checkImports() as { modules: number; problems: string[] };
    expect(modules).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });
});

describe('the check itself', () => {
  it('finds every kind of import: static, re-export, type, lazy and inline type', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "import './e.js';",
      "const f = () => import('./f.js');",
      "let g: import('./g.js').G;",
      'const s = \'import x from "nothing"\';',
    ].join('\n');
    expect(specifiersIn(text)).toEqual(['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
  });

  it('finds cycles of any length, a self-import, and nothing in a graph without one', () => {
    const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
    expect(findCycles(graph({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual([['a', 'b', 'c']]);
    expect(findCycles(graph({ a: ['a'], b: [] }))).toEqual([['a']]);
    expect(findCycles(graph({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
    expect(findCycles(graph({ a: ['b'], b: ['a'], c: ['d'], d: ['c'] }))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});
