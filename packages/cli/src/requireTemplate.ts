import type { WorkflowsApi } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';

/** Refuses (exit 65) when the namespace has no WorkflowTemplate `name`, saying what to install. */
export async function requireTemplate(api: WorkflowsApi, namespace: string, name: string, what: string): Promise<void> {
  if ((await api.getTemplate(namespace, name)) !== null) return;
  throw new BatchscoreError(
    'NOT_INSTALLED',
    `workflowtemplate/${name} is not installed in namespace "${namespace}"; it is ${what}`,
  );
}

/** What a missing job template is, and how to install it. */
export function jobTemplateHint(namespace: string): string {
  return (
    `the job's WorkflowTemplate: install the job (\`helm upgrade --install\` with it ` +
    `under jobs:, or \`batchscore render JOB.yaml | kubectl apply -n ${namespace} -f ` +
    `-\`)`
  );
}
