// The Secrets and ConfigMaps a pod's volumes and env read, as a kubelet reads them.
import type { Kube } from './kube.js';
import { KubeError } from './kube.js';

/** kubelet's CreateContainerConfigError: retried until the object exists. */
export class ConfigError extends Error {}

export type ObjectKind = 'secret' | 'configmap';

interface ObjectData {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** The object, or undefined when it is missing and `optional`; a missing required one is a ConfigError. */
export async function getObject(
  kube: Kube,
  ns: string,
  kind: ObjectKind,
  name: string,
  optional: boolean | undefined,
): Promise<ObjectData | undefined> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/${kind}s/${encodeURIComponent(name)}`;
  try {
    return await kube.get<ObjectData>(path);
  } catch (err) {
    if (err instanceof KubeError && err.status === 404) {
      if (optional) return undefined;
      throw new ConfigError(`${kind} "${name}" not found`);
    }
    throw err;
  }
}

/** Pure: an object's keys and bytes (a Secret's data is base64, a ConfigMap's data text and binaryData base64). */
export function objectData(kind: ObjectKind, obj: ObjectData | undefined): Record<string, Buffer> {
  const data: Record<string, Buffer> = {};
  if (kind === 'secret') for (const [k, v] of Object.entries(obj?.data ?? {})) data[k] = Buffer.from(v, 'base64');
  else {
    for (const [k, v] of Object.entries(obj?.data ?? {})) data[k] = Buffer.from(v, 'utf8');
    for (const [k, v] of Object.entries(obj?.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
  }
  return data;
}
