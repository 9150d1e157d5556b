import { kubeNamespace, loadKubeConfig, resolveNamespace } from '@batchscore/coordinator/kube';
import { namespaceArg } from './args.js';

/** The options every command that talks to the cluster takes, as kubectl spells them. */
export const KUBE_OPTIONS = {
  namespace: {
    type: 'string',
    short: 'n',
    value: 'NS',
    help: "The namespace (default: spec.cluster.namespace, else the kubeconfig context's, else default).",
  },
  kubeconfig: { type: 'string', value: 'FILE', help: 'The kubeconfig (default: KUBECONFIG, else ~/.kube/config).' },
  context: { type: 'string', value: 'CTX', help: 'A context of the kubeconfig (default: its current-context).' },
} as const;

/** The kubeconfig (--kubeconfig, --context) and the namespace to use in it (see resolveNamespace). */
export function kubeTarget(
  values: { namespace?: string | undefined; kubeconfig?: string | undefined; context?: string | undefined },
  jobNamespace: string | undefined,
): { kc: ReturnType<typeof loadKubeConfig>; namespace: string } {
  const kc = loadKubeConfig({
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
  });
  const { namespace } = resolveNamespace({
    flag: namespaceArg(values.namespace),
    job: jobNamespace,
    context: kubeNamespace(kc),
  });
  return { kc, namespace };
}
