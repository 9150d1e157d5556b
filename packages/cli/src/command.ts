import { parseArgs } from 'node:util';
import { BatchscoreError } from '@batchscore/core';

/**
 * A command's option table: what the parser accepts, and what `--help` and docs/cli.md say about each option. One
 * table, so the help, the reference and the parser cannot disagree.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** What a string option's value is, as usage writes it: FILE, N, YYYY-MM-DD, json|yaml. */
  readonly value?: string;
  readonly help: string;
  /** Parsed but never printed: a protocol between batchscore's own processes (run --local's workers). */
  readonly internal?: boolean;
  /**
   * A string option that may also be given bare, meaning this value, as kubectl's `--dry-run` (= client):
   * written `--dry-run[=client|server]`. Its value then only follows `=`.
   */
  readonly bare?: string;
}

export type Options = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec<O extends Options = Options> {
  readonly name: string;
  /** One line: what the command is for (the command list, docs/cli.md's table). */
  readonly summary: string;
  /**
   * The synopses, each what follows `batchscore NAME`. Every flag in them is in `options`, and every option is in
   * one of them (test/docs/cliReference.test.ts checks).
   */
  readonly usage: readonly string[];
  /** What the command does beyond its options: lines of at most 116 characters, printed as written. */
  readonly description: string;
  readonly options: O;
}

/** Keeps the option table's literal types, so that `parseCommand` knows which values are strings and booleans. */
export function defineCommand<const O extends Options>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

export type Values<O extends Options> = {
  [K in keyof O]?: (O[K]['type'] extends 'boolean' ? boolean : string) | undefined;
};

/**
 * node:util parseArgs over the command's option table, with its errors turned into one-line usage errors (exit 64)
 * that name the option, instead of Node's advice about '--'.
 */
export function parseCommand<O extends Options>(
  spec: CommandSpec<O>,
  argv: string[],
): { values: Values<O>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
  );
  const end = argv.indexOf('--');
  const args = argv.map((a, i) => {
    const name = end !== -1 && i > end ? undefined : /^--([\w-]+)$/.exec(a)?.[1];
    const bare = name === undefined ? undefined : spec.options[name]?.bare;
    return bare === undefined ? a : `--${name}=${bare}`;
  });
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Values<O>, positionals };
  } catch (err) {
    throw new BatchscoreError('USAGE', usageMessage(err as Error & { code?: string }, spec.options));
  }
}

function usageMessage(err: Error & { code?: string }, options: Options): string {
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const opt = /^Unknown option '([^']+)'/.exec(err.message)?.[1] ?? '?';
    const takes = Object.entries(options)
      .filter(([, o]) => !o.internal)
      .map(([name, o]) => (o.short ? `-${o.short}/--${name}` : `--${name}`));
    return `unknown option ${opt}; this command takes ${takes.length ? takes.join(', ') : 'no options'}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const opt = /--[\w-]+/.exec(err.message)?.[0] ?? 'an option';
    if (/does not take an argument/.test(err.message)) return `${opt} takes no value`;
    if (/ambiguous/.test(err.message))
      return `${opt} needs a value, got an option; write ${opt}=VALUE for a value starting with '-'`;
    return `${opt} needs a value`;
  }
  return err.message.split('\n')[0]!;
}

/** How help and the reference write an option: `-o, --output json|yaml`, `--force`. */
export function optionLabel(name: string, o: OptionSpec): string {
  const flag = o.short ? `-${o.short}, --${name}` : `--${name}`;
  if (o.type === 'boolean') return flag;
  return o.bare === undefined ? `${flag} ${o.value ?? 'VALUE'}` : `${flag}[=${o.value ?? 'VALUE'}]`;
}

/** The options a user may give, in table order. */
export function publicOptions(spec: CommandSpec): [string, OptionSpec][] {
  return Object.entries(spec.options).filter(([, o]) => !o.internal);
}

/** Words wrapped to `width` columns (a word longer than that stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const HELP_WIDTH = 118;

/** `batchscore NAME --help`: the synopses, what it does, then each option with what it does. */
export function renderHelp(spec: CommandSpec): string {
  const opts = publicOptions(spec).map(([name, o]) => [optionLabel(name, o), o.help] as const);
  const col = Math.min(32, Math.max(0, ...opts.map(([label]) => label.length)) + 2);
  const optionLines = opts.flatMap(([label, help]) => {
    const text = wrap(help, HELP_WIDTH - 4 - col);
    if (label.length + 2 > col) return [`    ${label}`, ...text.map((t) => `    ${' '.repeat(col)}${t}`)];
    return text.map((t, i) => `    ${i === 0 ? label.padEnd(col) : ' '.repeat(col)}${t}`);
  });
  return [
    ...spec.usage.map((u) => `batchscore ${spec.name} ${u}`),
    ...spec.description.split('\n').map((l) => (l ? `  ${l}` : '')),
    ...(optionLines.length ? ['', '  Options:', ...optionLines] : []),
  ].join('\n');
}
