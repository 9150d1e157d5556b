import { BatchscoreError, isValidDate } from '@batchscore/core';

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
