export type NamespaceSource = '--namespace' | 'spec.cluster.namespace' | 'kubeconfig context' | 'default';

/**
 * Where submit and backfill create Workflows, in kubectl's order with the job in the place of the object's own
 * metadata.namespace: `-n/--namespace`, then spec.cluster.namespace, then the namespace of the kubeconfig
 * context in use (`--context`, else current-context; in a pod, the service account's), then `default`.
 */
export function resolveNamespace(o: {
  flag?: string | undefined;
  job?: string | undefined;
  context?: string | undefined;
}): {
  namespace: string;
  from: NamespaceSource;
} {
  if (o.flag !== undefined) return { namespace: o.flag, from: '--namespace' };
  if (o.job !== undefined) return { namespace: o.job, from: 'spec.cluster.namespace' };
  if (o.context) return { namespace: o.context, from: 'kubeconfig context' };
  return { namespace: 'default', from: 'default' };
}
