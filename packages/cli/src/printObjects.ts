import { toYaml } from '@batchscore/core';
import type { OutputFormat } from './outputFormat.js';

/**
 * Prints Kubernetes objects: YAML documents separated by '---', or JSON as kubectl prints it (one object as
 * itself, several as a List), so `kubectl apply -f -` takes either.
 */
export function printObjects(docs: unknown[], format: OutputFormat): void {
  if (format === 'yaml') process.stdout.write(toYaml(docs));
  else
    process.stdout.write(
      JSON.stringify(docs.length === 1 ? docs[0] : { apiVersion: 'v1', kind: 'List', items: docs }, null, 2) + '\n',
    );
}
