import { BatchscoreError } from '@batchscore/core';
import type { KubeObject, WorkflowsApi } from './kubeClient.js';

export interface SubmittedWorkflow {
  /** The name the API server gave it (from metadata.generateName when the workflow has no metadata.name). */
  name: string;
  namespace: string;
  uid?: string;
  /** The Workflow as the API server returned it (for `-o yaml|json`: no second request). */
  object: KubeObject;
}

/**
 * Creates one Argo Workflow, as given, in `namespace`. metadata.namespace, when set, must agree with it.
 * A fixed metadata.name that already exists fails with KUBE_CONFLICT (409); submitWorkflow never retries.
 * `dryRun`: the API server checks and defaults it as for a create, and persists nothing (kubectl's
 * --dry-run=server); what it returns is what would have been created.
 */
export async function submitWorkflow(
  api: WorkflowsApi,
  namespace: string,
  workflow: KubeObject,
  opts: { dryRun?: boolean } = {},
): Promise<SubmittedWorkflow> {
  const meta = workflow.metadata ?? {};
  if (!meta.name && !meta.generateName) {
    throw new BatchscoreError('SPEC_INVALID', 'workflow has neither metadata.name nor metadata.generateName');
  }
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    throw new BatchscoreError(
      'USAGE',
      `workflow metadata.namespace is "${String(meta.namespace)}" but it is being submitted ` +
        `to namespace "${namespace}"`,
    );
  }
  const created = await api.create(namespace, workflow, opts.dryRun ? { dryRun: true } : {});
  const name = created?.metadata?.name;
  if (typeof name !== 'string' || name === '') {
    throw new BatchscoreError(
      'INTERNAL',
      `the API server at ${api.server} accepted the workflow in namespace "${namespace}" but returned no metadata.name`,
    );
  }
  const uid = created.metadata?.uid;
  return {
    name,
    namespace: created.metadata?.namespace ?? namespace,
    ...(typeof uid === 'string' ? { uid } : {}),
    object: created,
  };
}
