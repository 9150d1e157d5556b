import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BatchscoreError, isValidDate } from '@batchscore/core';

type Config = ParseArgsConfig & { allowPositionals: true; strict: true };

/**
 * node:util parseArgs with its errors turned into one-line usage errors (exit 64) that name the option and what
 * the command takes, instead of Node's advice about '--'.
 */
export function parse<T extends Config>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new BatchscoreError('USAGE', usageMessage(err as Error & { code?: string }, config.options ?? {}));
  }
}

function usageMessage(err: Error & { code?: string }, options: NonNullable<ParseArgsConfig['options']>): string {
  const takes = Object.entries(options)
    .map(([name, o]) => (o.short ? `-${o.short}/--${name}` : `--${name}`))
    .join(', ');
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const opt = /^Unknown option '([^']+)'/.exec(err.message)?.[1] ?? '?';
    return `unknown option ${opt}; this command takes ${takes}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const opt = /--[\w-]+/.exec(err.message)?.[0] ?? 'an option';
    if (/does not take an argument/.test(err.message)) return `${opt} takes no value`;
    if (/ambiguous/.test(err.message))
      return `${opt} needs a value, got an option; write ${opt}=VALUE for a value starting with '-'`;
    return `${opt} needs a value`;
  }
  return err.message;
}

export function dateArg(v: string | undefined, now = new Date()): string {
  if (v === undefined) return now.toISOString().slice(0, 10);
  if (!isValidDate(v))
    throw new BatchscoreError('USAGE', `--date ${JSON.stringify(v)}: expected a calendar date YYYY-MM-DD`);
  return v;
}

/** The value when it is one of `choices`; undefined when the flag is absent. `flag` as the user writes it: --device. */
export function choiceArg<T extends string>(flag: string, v: string | undefined, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v))
    throw new BatchscoreError('USAGE', `${flag} ${JSON.stringify(v)}: expected one of ${choices.join(', ')}`);
  return v as T;
}

export function intArg(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new BatchscoreError('USAGE', `--${name} ${JSON.stringify(v)}: expected an integer ≥ ${min}`);
  return n;
}

/** A namespace is a DNS label (RFC 1123): say so here rather than let the API server or kubectl answer later. */
export function namespaceArg(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v)) {
    throw new BatchscoreError(
      'USAGE',
      `--namespace ${JSON.stringify(v)}: expected a namespace name (lowercase letters, ` +
        `digits and '-', at most 63 characters)`,
    );
  }
  return v;
}
