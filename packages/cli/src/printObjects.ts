import { toYaml } from '@batchscore/core';
import type { OutputFormat } from './outputFormat.js';

/**
 * Prints Kubernetes objects: YAML documents separated by '---', JSON as kubectl prints it (one object as itself,
 * several as a List), so `kubectl apply -f -` takes either; or, for `-o name`, `kind.group/name` a line, as
 * `kubectl create -o name` prints them (an object that has only a generateName shows that).
 */
export function printObjects(
  docs: unknown[],
  format: OutputFormat,
  out: { write(s: string): unknown } = process.stdout,
) {
  out.write(formatObjects(docs, format));
}

export function formatObjects(objects: unknown[], format: OutputFormat): string {
  const docs = objects.map(withoutManagedFields);
  if (format === 'yaml') return toYaml(docs);
  if (format === 'name') return docs.map((d) => objectName(d as KubeObject) + '\n').join('');
  return JSON.stringify(docs.length === 1 ? docs[0] : { apiVersion: 'v1', kind: 'List', items: docs }, null, 2) + '\n';
}

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; generateName?: string; managedFields?: unknown };
}

/**
 * An object the API server returned, without metadata.managedFields (server-side apply's bookkeeping, often longer
 * than the object), as kubectl prints objects unless --show-managed-fields.
 */
function withoutManagedFields(o: unknown): unknown {
  const meta = (o as KubeObject | null)?.metadata;
  if (meta?.managedFields === undefined) return o;
  const { managedFields: _m, ...rest } = meta;
  return { ...(o as KubeObject), metadata: rest };
}

/** `workflow.argoproj.io/NAME`, `configmap/NAME`: the kind in lower case, then the API group unless it is core. */
export function objectName(o: KubeObject): string {
  const group = o.apiVersion?.includes('/') ? o.apiVersion.split('/')[0] : '';
  const kind = (o.kind ?? '').toLowerCase();
  return `${group ? `${kind}.${group}` : kind}/${o.metadata?.name ?? o.metadata?.generateName ?? ''}`;
}
