import { BatchscoreError, toYaml } from '@batchscore/core';

/**
 * `-o/--output json|yaml` for the commands that print one object (plan, version, render, submit, backfill). One helper
 * so every command spells, defaults and rejects the flag the same way:
 *
 *   const { values } = parse({ ..., options: { ...OUTPUT_OPTION, ... } });
 *   printOutput({ plan: uri, shards: n }, outputFormat(values.output));
 */
export type OutputFormat = 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['json', 'yaml'];

/** The parseArgs option to spread into a command's options: `-o yaml`, `-oyaml`, `--output yaml`, `--output=yaml`. */
export const OUTPUT_OPTION = { output: { type: 'string', short: 'o' } } as const;

/**
 * The format `-o/--output` names; when the flag is absent, json (one JSON line is what scripts read from plan and
 * version) or the command's own default (yaml for the Kubernetes objects render prints).
 */
export function outputFormat(value: string | undefined, dflt: OutputFormat = 'json'): OutputFormat {
  if (value === undefined) return dflt;
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new BatchscoreError('USAGE', `-o/--output ${JSON.stringify(value)}: expected ${OUTPUT_FORMATS.join(' or ')}`);
}

/**
 * The text to print, ending in a newline: JSON on one line (for `jq` and line-reading scripts), or one YAML document.
 */
export function formatOutput(value: unknown, format: OutputFormat): string {
  if (format === 'yaml') return toYaml([value]);
  return JSON.stringify(value) + '\n';
}

export function printOutput(
  value: unknown,
  format: OutputFormat,
  out: { write(s: string): unknown } = process.stdout,
): void {
  out.write(formatOutput(value, format));
}
