import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHelp } from '../../packages/cli/src/command.js';
import { allCommandSpecs } from '../../packages/cli/src/commands.js';
import { renderTopHelp } from '../../packages/cli/src/help.js';
import { REPO, runCli } from '../support/cli.js';
import { commandsIn, flagsIn, linesWith, otherToolsFlags } from './readmeFlags.js';

// The user documentation (README.md, CONTRIBUTING.md, docs/*.md) and the CLI's --help texts name the same flags:
// every flag a command's --help prints is in the documentation, and every --flag there is one some --help prints,
// or belongs to another tool in a shell example (kubectl, argo, ...). The help texts are rendered at test time
// from the commands' option tables, as the CLI renders them, so the test follows them as they change.

const DOC_FILES = [
  'README.md',
  'CONTRIBUTING.md',
  ...(await readdir(path.join(REPO, 'docs')))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const docs = new Map(
  await Promise.all(DOC_FILES.map(async (f) => [f, await readFile(path.join(REPO, f), 'utf8')] as const)),
);

/**
 * Every help text: `batchscore COMMAND --help` for each command, then the top-level `batchscore --help`. They are
 * rendered from the commands' option tables in-process; one spawn of each kind checks that the CLI prints these.
 */
async function helpTexts(): Promise<Map<string, string>> {
  const specs = await allCommandSpecs();
  expect(specs.length).toBeGreaterThan(10);
  const texts = new Map<string, string>(specs.map((s) => [`batchscore ${s.name} --help`, renderHelp(s)]));
  // Last: what the top-level help adds to its commands' texts (--version, the log options) is its own.
  texts.set('batchscore --help', renderTopHelp(specs));
  return texts;
}

describe('the help texts the CLI prints are the ones rendered from the option tables', () => {
  it('batchscore --help and batchscore submit --help', async () => {
    const specs = await allCommandSpecs();
    const [top, submit] = await Promise.all([runCli(['--help']), runCli(['submit', '--help'])]);
    expect([top.code, top.stdout]).toEqual([0, renderTopHelp(specs) + '\n']);
    expect(commandsIn(top.stdout)).toEqual(specs.map((s) => s.name));
    expect([submit.code, submit.stdout]).toEqual([0, renderHelp(specs.find((s) => s.name === 'submit')!) + '\n']);
  });
});

describe('the documentation and --help agree on the flags', () => {
  it('every flag each --help prints is documented, and every documented --flag is in some --help', async () => {
    const texts = await helpTexts();
    const docFlags = new Set([...docs.values()].flatMap((text) => flagsIn(text)));
    const problems: string[] = [];
    // Flags of the commands' own help texts, then the top-level help's own (--version, the log options).
    const helpFlags = new Set<string>();
    for (const [source, text] of texts) {
      const flags = flagsIn(text).filter((f) => source !== 'batchscore --help' || !helpFlags.has(f));
      flags.forEach((f) => helpFlags.add(f));
      const missing = flags.filter((f) => !docFlags.has(f));
      if (missing.length) problems.push(`the documentation lacks ${missing.join(', ')}, printed by \`${source}\``);
    }
    for (const [file, text] of docs) {
      const others = otherToolsFlags(text);
      for (const flag of flagsIn(text)) {
        if (!flag.startsWith('--') || helpFlags.has(flag) || others.has(flag)) continue;
        problems.push(
          `${file} line ${linesWith(text, flag).join(', ')} names ${flag}, which no --help ` +
            `prints (nor a shell example's other tool)`,
        );
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

describe('the flag extraction itself', () => {
  it('finds --long and -x flags, not hyphens inside words, and drops =values', () => {
    expect(flagsIn('run [--date D] (-o/--output json) --log-level=debug, non-zero x-kubernetes-int -1 --')).toEqual([
      '--date',
      '-o',
      '--output',
      '--log-level',
    ]);
  });

  it('lists the commands of the top-level help', () => {
    expect(
      commandsIn(
        'batchscore: score large datasets\n\nbatchscore run JOB\n  text\nbatchscore record-failure ' +
          'X\nbatchscore --version prints',
      ),
    ).toEqual(['run', 'record-failure']);
  });

  it('allows other tools’ long flags from shell code blocks only, per command of a pipeline', () => {
    const md = [
      'Prose with `kubectl get --watch-only` is not a code block.',
      '```sh',
      'batchscore render job.yaml --date 2024-01-15 | kubectl create --dry-run=client -f -',
      '$ argo submit --from workflowtemplate/x \\',
      '    --serviceaccount ci   # a comment with --nothing',
      'node packages/cli/bin/batchscore.js run --local && FOO=1 helm install --atomic x .',
      '```',
      '```yaml',
      'kubectl --in-yaml',
      '```',
    ].join('\n');
    expect(Object.fromEntries([...otherToolsFlags(md)].map(([f, tools]) => [f, [...tools]]))).toEqual({
      '--dry-run': ['kubectl'],
      '--from': ['argo'],
      '--serviceaccount': ['argo'],
      '--atomic': ['helm'],
    });
  });
});
