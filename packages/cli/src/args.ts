import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BatchscoreError, isValidDate } from '@batchscore/core';

type Config = ParseArgsConfig & { allowPositionals: true; strict: true };

/** node:util parseArgs with its errors turned into usage errors (exit 64). */
export function parse<T extends Config>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new BatchscoreError('USAGE', (err as Error).message);
  }
}

export function dateArg(v: string | undefined, now = new Date()): string {
  if (v === undefined) return now.toISOString().slice(0, 10);
  if (!isValidDate(v)) throw new BatchscoreError('USAGE', `--date ${JSON.stringify(v)}: expected a calendar date YYYY-MM-DD`);
  return v;
}

export function intArg(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new BatchscoreError('USAGE', `--${name} ${JSON.stringify(v)}: expected an integer ≥ ${min}`);
  return n;
}
