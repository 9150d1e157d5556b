// Kubernetes' rules the pod runner applies as a kubelet would, as pure functions: $(VAR) expansion, quantities,
// the downward API.
import type { Container, NodeConfig, Pod } from './types.js';

/**
 * $(VAR) expansion exactly as Kubernetes does it (third_party/forked/golang/expansion): `$$` is a literal `$`,
 * an undefined $(VAR) stays as written.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  if (typeof input !== 'string' || !input.includes('$')) return input;
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let read: string;
    let advance = 1;
    if (rest[0] === '$') read = '$';
    else if (rest[0] === '(') {
      const close = rest.indexOf(')', 1);
      if (close > 0) {
        const name = rest.slice(1, close);
        const value = lookup(name);
        read = value === undefined ? `$(${name})` : value;
        advance = close + 1;
      } else read = '$(';
    } else read = '$' + rest[0];
    out += read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(q: string | number): number {
  const m = /^([+-]?[0-9.]+)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/.exec(String(q).trim());
  if (!m || !(m[3]! in QUANTITY_SUFFIX)) throw new Error(`quantity ${JSON.stringify(q)} is not a Kubernetes quantity`);
  return Number(m[1]) * 10 ** Number(m[2] ?? 0) * QUANTITY_SUFFIX[m[3]!]!;
}

export function fieldRefValue(pod: Pod, fieldPath: string): string {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) return pod.metadata[keyed[1] as 'labels' | 'annotations']?.[keyed[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'metadata.labels':
    case 'metadata.annotations':
      return Object.entries(pod.metadata[fieldPath.split('.')[1] as 'labels' | 'annotations'] ?? {})
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join('\n');
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.hostIP':
    case 'status.podIPs':
    case 'status.hostIPs':
      // Every pod shares this machine's loopback: there is no pod network.
      return '127.0.0.1';
    default:
      throw new Error(`fieldRef ${fieldPath}: not a field the downward API offers`);
  }
}

export function resourceFieldRefValue(
  pod: Pod,
  container: Container,
  ref: { containerName?: string; resource: string; divisor?: string | number },
  node: NodeConfig | undefined,
): string {
  const c = ref.containerName ? pod.spec.containers.find((x) => x.name === ref.containerName) : container;
  if (!c) throw new Error(`resourceFieldRef ${ref.resource}: no container ${ref.containerName} in the pod`);
  const [kind, name] = ref.resource.split('.') as ['limits' | 'requests', string]; // limits.cpu, requests.memory
  // An unset limit is the node's allocatable, an unset request the limit, as the kubelet resolves them.
  const fromNode = (node?.allocatable ?? node?.capacity)?.[name];
  const res = c.resources;
  const raw = res?.[kind]?.[name] ?? (kind === 'limits' ? fromNode : (res?.limits?.[name] ?? fromNode)) ?? '0';
  const divisor = parseQuantity(ref.divisor ?? '1') || 1; // the API server defaults an unset divisor to "0", meaning 1
  return String(Math.ceil(parseQuantity(raw) / divisor));
}
