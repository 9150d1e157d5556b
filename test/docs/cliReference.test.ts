import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCliReference, renderReadme, withGenerated } from '../../packages/cli/src/cliReference.js';
import { optionLabel, publicOptions, renderHelp } from '../../packages/cli/src/command.js';
import { allCommandSpecs, GLOBAL_OPTIONS } from '../../packages/cli/src/commands.js';
import { REPO } from '../support/cli.js';
import { flagsIn } from './readmeFlags.js';

// docs/cli.md and the README's synopsis and exit codes are generated from the option tables the CLI parses
// (`npm run docs:cli`); these tests fail while a committed file differs from what the tables give, and while a
// command's synopsis and its option table disagree.

const specs = await allCommandSpecs();
const read = (p: string) => readFile(path.join(REPO, p), 'utf8');

describe('the generated CLI reference', () => {
  it('docs/cli.md is what the option tables give (run `npm run docs:cli` after changing them)', async () => {
    expect(await read('docs/cli.md')).toBe(renderCliReference(specs));
  });

  it("the README's synopsis and exit codes are what the option tables and EXIT_CODES give", async () => {
    const readme = await read('README.md');
    expect(readme).toBe(renderReadme(readme, specs));
  });

  it('replaces only what lies between its markers, and refuses a text without them', () => {
    const text = 'a\n<!-- generated: x (how) -->\nold\n<!-- end: x -->\nb\n';
    expect(withGenerated(text, 'x', ['new', 'lines'])).toBe(
      'a\n<!-- generated: x (how) -->\nnew\nlines\n<!-- end: x -->\nb\n',
    );
    expect(() => withGenerated('no markers', 'x', [])).toThrow('no <!-- generated: x --> … <!-- end: x --> markers');
  });
});

describe("each command's synopsis and option table agree", () => {
  const globalFlags = new Set(['--log-level', '--log-format', '--help', '-h']);
  it.each(specs.map((s) => [s.name, s] as const))('%s', (_name, spec) => {
    const documented = new Set(
      publicOptions(spec).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]),
    );
    const inUsage = new Set(spec.usage.flatMap((u) => flagsIn(u)));
    const unknown = [...inUsage].filter((f) => !documented.has(f) && !globalFlags.has(f));
    const missing = publicOptions(spec)
      .map(([name, o]) => (o.short ? `-${o.short}` : `--${name}`))
      .filter((f) => !inUsage.has(f));
    expect({ unknown, missing }).toEqual({ unknown: [], missing: [] });
    // Help lines fit a terminal of 120 columns, the synopses apart (one line each, as kubectl prints them).
    const long = renderHelp(spec)
      .split('\n')
      .filter((l) => !l.startsWith('batchscore ') && l.length > 120);
    expect(long).toEqual([]);
  });

  it('the global options are what log.ts and main read', () => {
    expect(Object.entries(GLOBAL_OPTIONS).map(([n, o]) => optionLabel(n, o))).toEqual([
      '--log-level debug|info|warn|error',
      '--log-format auto|json|text',
      '-h, --help',
    ]);
  });
});
