import { BatchscoreError, toYaml } from '@batchscore/core';

/**
 * `-o/--output` as kubectl, argo and helm spell it: `json` or `yaml` wherever a command prints an object or a
 * record, and `name` where it creates objects. Without the flag each command prints its own default (one JSON
 * line for records that scripts read, YAML for Kubernetes objects, a summary for a person).
 *
 *   options: { ...outputOption(['json', 'yaml'], 'prints the plan as ...'), ... }
 *   const format = outputFormat(values.output, ['json', 'yaml']) ?? 'json';
 */
export type OutputFormat = 'json' | 'yaml' | 'name';

/** The option to spread into a command's table: `-o yaml`, `-oyaml`, `--output yaml`, `--output=yaml`. */
export function outputOption<const F extends readonly OutputFormat[]>(formats: F, help: string) {
  return { output: { type: 'string', short: 'o', value: formats.join('|'), help } } as const;
}

/** The format `-o/--output` names, one of `formats`; undefined when the flag is absent. */
export function outputFormat<F extends OutputFormat>(value: string | undefined, formats: readonly F[]): F | undefined {
  if (value === undefined) return undefined;
  if ((formats as readonly string[]).includes(value)) return value as F;
  const expected = formats.length > 1 ? `${formats.slice(0, -1).join(', ')} or ${formats.at(-1)}` : formats[0];
  throw new BatchscoreError('USAGE', `-o/--output ${JSON.stringify(value)}: expected ${expected}`);
}

/**
 * A record as text, ending in a newline: JSON on one line (for `jq` and line-reading scripts), or one YAML document.
 */
export function formatOutput(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'yaml') return toYaml([value]);
  return JSON.stringify(value) + '\n';
}

export function printOutput(
  value: unknown,
  format: 'json' | 'yaml',
  out: { write(s: string): unknown } = process.stdout,
): void {
  out.write(formatOutput(value, format));
}
