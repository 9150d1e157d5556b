import { ERROR_CODES, EXIT_CODES } from '@batchscore/core';
import { optionLabel, publicOptions, type CommandSpec, type Options } from './command.js';
import { GLOBAL_OPTIONS } from './commands.js';
import { synopsis } from './help.js';

/**
 * docs/cli.md and the README's generated parts (the synopsis, the exit codes), from the commands' option tables,
 * EXIT_CODES and ERROR_CODES: pure functions, written by scripts/write-cli-reference.mjs (`npm run docs:cli`) and
 * compared with the committed files by test/docs/cliReference.test.ts, so the documentation and --help cannot
 * drift apart.
 */

const GENERATED = 'npm run docs:cli';

/** A table cell: GitHub's tables split on `|` even inside code, so it is escaped. */
const cell = (s: string) => s.replace(/\|/g, '\\|');

function optionTable(options: [string, Options[string]][]): string[] {
  return [
    '| option | meaning |',
    '|---|---|',
    ...options.map(([name, o]) => `| ${cell(`\`${optionLabel(name, o)}\``)} | ${cell(o.help)} |`),
  ];
}

export function renderCliReference(specs: CommandSpec[]): string {
  const lines = [
    '# CLI reference',
    '',
    `<!-- Generated from the commands' option tables by \`${GENERATED}\`; edit those, not this file. -->`,
    '',
    "Every command's synopsis and options, as `batchscore COMMAND --help` prints them. What the commands do in",
    'practice: [commands.md](commands.md).',
    '',
    '| command | what it is for |',
    '|---|---|',
    ...specs.map((s) => `| [\`${s.name}\`](#batchscore-${s.name}) | ${cell(s.summary)} |`),
    '',
    'Every command also takes:',
    '',
    ...optionTable(Object.entries(GLOBAL_OPTIONS)),
    '',
    '`batchscore --version` prints the version alone; `batchscore --help` lists the commands.',
  ];
  for (const s of specs) {
    lines.push('', `## batchscore ${s.name}`, '', s.summary, '', '```');
    lines.push(...s.usage.map((u) => `batchscore ${s.name} ${u}`), '```', '', '```text', s.description, '```');
    const options = publicOptions(s);
    if (options.length) lines.push('', ...optionTable(options));
  }
  lines.push('', '## Exit codes', '', ...exitCodeTable());
  lines.push(
    '',
    '## Error codes',
    '',
    'Each error line names its code: `batchscore: error [CODE]: …` (in JSON logs, the `code` field).',
    '',
    '| code | exit | what failed |',
    '|---|---|---|',
    ...Object.entries(ERROR_CODES).map(
      ([code, e]) => `| \`${code}\` | ${exitOf(code, e.retryable)} | ${cell(e.meaning)} |`,
    ),
  );
  return lines.join('\n') + '\n';
}

function exitOf(code: string, retryable: boolean | 'either'): string {
  if (code === 'USAGE') return '64';
  if (code === 'INTERNAL') return '70';
  if (code === 'RUN_INCOMPLETE') return '66';
  return retryable === 'either' ? '65 or 75' : retryable ? '75' : '65';
}

/** The exit codes as a table (README's Exit codes, docs/cli.md). */
export function exitCodeTable(): string[] {
  return [
    '| code | meaning | retry? |',
    '|---|---|---|',
    ...EXIT_CODES.map((e) => `| ${e.code} | ${cell(e.meaning)} | ${e.retry} |`),
  ];
}

/** The README's Commands block: every synopsis, then what every command takes. */
export function renderSynopsis(specs: CommandSpec[]): string[] {
  const global = Object.entries(GLOBAL_OPTIONS)
    .filter(([name]) => name !== 'help')
    .map(([name, o]) => `[${optionLabel(name, o)}]`);
  return ['```', ...synopsis(specs), '', `every command: ${global.join(' ')}`, '```'];
}

/**
 * `text` with the part between `<!-- generated: NAME … -->` and `<!-- end: NAME -->` replaced by `body`; throws
 * when the markers are missing, so a moved marker cannot leave the generated part behind unnoticed.
 */
export function withGenerated(text: string, name: string, body: string[]): string {
  const re = new RegExp(`(<!-- generated: ${name}[^>]*-->\\n)[\\s\\S]*?(<!-- end: ${name} -->)`);
  if (!re.test(text)) throw new Error(`no <!-- generated: ${name} --> … <!-- end: ${name} --> markers`);
  return text.replace(re, (_m, open: string, close: string) => `${open}${body.join('\n')}\n${close}`);
}

/** The README with its generated parts rendered anew. */
export function renderReadme(readme: string, specs: CommandSpec[]): string {
  return withGenerated(withGenerated(readme, 'synopsis', renderSynopsis(specs)), 'exit-codes', exitCodeTable());
}
