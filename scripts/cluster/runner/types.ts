// The shapes the pod runner reads: Pods as the API server sends them (their containers and volumes typed by
// Argo's schema, which embeds Kubernetes' core types), and its own configuration, written by cluster.mjs `up`.
import type {
  Container,
  ObjectMeta,
  PodSecurityContext,
  Toleration,
  Volume,
} from '../../../packages/coordinator/src/render/argoTypes.js';

export type { Container, Volume };

export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  lastProbeTime: string | null;
  lastTransitionTime: string;
}

export interface Pod {
  metadata: ObjectMeta & { uid: string; name: string; namespace: string };
  spec: {
    nodeName?: string;
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
    restartPolicy?: string;
    activeDeadlineSeconds?: number;
    terminationGracePeriodSeconds?: number;
    serviceAccountName?: string;
    securityContext?: PodSecurityContext;
    hostname?: string;
    tolerations?: Toleration[];
  };
  status?: { phase?: string; conditions?: PodCondition[]; startTime?: string };
}

export interface NodeConfig {
  name: string;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  capacity: Record<string, string>;
  allocatable?: Record<string, string>;
}

/**
 * Where containers take their files from.
 *  - `image`: each container runs in the root file system of the image its pod names, from buildah's local
 *    storage (what a kubelet with a container runtime does). `aliases` maps an image that cannot be built here to
 *    one that stands in for it (the gpu image to the cpu image), said in the pod's events and log.
 *  - `checkout` (a development switch): every container runs on this machine's root file system, with this
 *    checkout bound read-only at `root` and `binDir` (batchscore on this machine's Node, argoexec) first on PATH.
 */
export type PodsFrom =
  | { from: 'image'; aliases: Record<string, string> }
  | { from: 'checkout'; binDir: string; source: string; root: string };

export interface RunnerConfig {
  kubeconfig: string;
  apiServerPort: number;
  stateDir: string;
  nodes: NodeConfig[];
  heartbeatSeconds?: number;
  kubeletVersion?: string;
  pods: PodsFrom;
}
