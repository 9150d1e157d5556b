import type { ShardCommit } from '../plan.js';

/**
 * Whose commit a record is: the run (job, date, model) and the plan (what was cut into shards). A commit counts
 * only for the very plan it was made for: after the input or the spec changed, its shard holds other rows.
 */
export interface CommitOwner {
  runId: string;
  planId: string;
}

export function ownedBy(c: Pick<ShardCommit, 'runId' | 'planId'> | undefined, owner: CommitOwner): boolean {
  return c !== undefined && c.runId === owner.runId && c.planId === owner.planId;
}
