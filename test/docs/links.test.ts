import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/cli.js';
import { anchorOf, anchorsIn, relativeLinksIn } from './markdownLinks.js';

// Every relative link in the user documentation leads somewhere: the file exists, and a #fragment names a heading
// of that file. The README was split into docs/; a page moved or a heading renamed must not leave links behind.

const MARKDOWN = [
  'README.md',
  'CONTRIBUTING.md',
  'helm/README.md',
  'manifests/README.md',
  'bench/README.md',
  'test/cluster/README.md',
  ...(await readdir(path.join(REPO, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
].sort();

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe('the documentation’s links', () => {
  it('every relative link names a file that exists, and a heading of it', async () => {
    const problems: string[] = [];
    for (const file of MARKDOWN) {
      const text = await readFile(path.join(REPO, file), 'utf8');
      for (const { line, target } of relativeLinksIn(text)) {
        const [ref, fragment] = target.split('#') as [string, string | undefined];
        const to = ref === '' ? path.join(REPO, file) : path.resolve(path.dirname(path.join(REPO, file)), ref);
        if (!(await exists(to))) {
          problems.push(`${file}:${line}: ${target}: no such file`);
          continue;
        }
        if (fragment === undefined || !to.endsWith('.md')) continue;
        if (!anchorsIn(await readFile(to, 'utf8')).includes(fragment))
          problems.push(`${file}:${line}: ${target}: ${path.relative(REPO, to)} has no heading #${fragment}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('the table of contents, docs/README.md, links every page of docs/', async () => {
    const toc = await readFile(path.join(REPO, 'docs/README.md'), 'utf8');
    const linked = new Set(relativeLinksIn(toc).map((l) => l.target.split('#')[0]));
    const pages = (await readdir(path.join(REPO, 'docs'))).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pages.filter((p) => !linked.has(p))).toEqual([]);
  });

  it('the README stays a page for users: at most 300 lines', async () => {
    const lines = (await readFile(path.join(REPO, 'README.md'), 'utf8')).split('\n').length;
    expect(lines).toBeLessThanOrEqual(300);
  });
});

describe('the link and heading extraction itself', () => {
  it('gives headings GitHub’s anchors', () => {
    expect(anchorOf('`spec.cluster`')).toBe('speccluster');
    expect(anchorOf('How far one Workflow scales: pods ≠ shards')).toBe('how-far-one-workflow-scales-pods--shards');
    expect(anchorOf('`_batch_manifest.json` (manifest v1)')).toBe('_batch_manifestjson-manifest-v1');
    expect(anchorsIn('# A\n```sh\n# not a heading\n```\n## A\n### b-c')).toEqual(['a', 'a-1', 'b-c']);
  });

  it('finds relative links outside code blocks only', () => {
    const md = 'See [x](docs/x.md#y) and [web](https://e.org).\n```\n[no](z.md)\n```\n[self](#top)';
    expect(relativeLinksIn(md)).toEqual([
      { line: 1, target: 'docs/x.md#y' },
      { line: 5, target: '#top' },
    ]);
  });
});
