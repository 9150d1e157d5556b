import { toYaml } from '@batchscore/coordinator';
import { BatchscoreError } from '@batchscore/core';

/** `-o/--output yaml|json`, as kubectl and argo spell it. */
export const OUTPUT_OPTION = { output: { type: 'string', short: 'o' } } as const;

export type OutputFormat = 'yaml' | 'json';

export function outputFormat(v: string | undefined, dflt: OutputFormat): OutputFormat {
  if (v === undefined) return dflt;
  if (v === 'yaml' || v === 'json') return v;
  throw new BatchscoreError('USAGE', `-o/--output ${JSON.stringify(v)}: expected yaml or json`);
}

/**
 * Prints Kubernetes objects: YAML documents separated by '---', or JSON as kubectl prints it (one object as
 * itself, several as a List), so `kubectl apply -f -` takes either.
 */
export function printObjects(docs: unknown[], format: string): void {
  const f = outputFormat(format, 'yaml');
  if (f === 'yaml') process.stdout.write(toYaml(docs));
  else process.stdout.write(JSON.stringify(docs.length === 1 ? docs[0] : { apiVersion: 'v1', kind: 'List', items: docs }, null, 2) + '\n');
}
