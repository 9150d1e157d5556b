import { watchWorkflow, type WorkflowsApi, type WorkflowStatus } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';
import { log } from './log.js';

/** Follows a Workflow to its end; throws unless it Succeeded (65 Failed, 75 Error). */
export async function followWorkflow(api: WorkflowsApi, namespace: string, name: string): Promise<void> {
  const final = await watchWorkflow(api, namespace, name, (s) => log().info(describeStatus(s)));
  if (final.phase !== 'Succeeded') {
    // Failed: a step failed for good (65); Error: Argo or the cluster failed it (75: submitting again may pass).
    throw new BatchscoreError(
      final.phase === 'Error' ? 'WORKFLOW_ERROR' : 'WORKFLOW_FAILED',
      `workflow ${name} ended ${final.phase}${final.message ? `: ${final.message}` : ''}`,
    );
  }
}

/** A Workflow's status as a line: phase, shards done, the nodes its score pods ran on, its message. */
export function describeStatus(s: WorkflowStatus): string {
  const shards =
    s.shardsTotal !== null
      ? ` shards ${s.shardsDone}/${s.shardsTotal}`
      : s.shardsDone > 0
        ? ` shards ${s.shardsDone}`
        : '';
  const where = s.scoreNodes.length > 0 ? ` on ${s.scoreNodes.join(', ')}` : '';
  return `${s.name} ${s.phase}${shards}${where}${s.message ? ` (${s.message})` : ''}`;
}
