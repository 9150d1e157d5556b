import { BatchscoreError, type ShardCommit, type ShardPlan } from '@batchscore/core';

/** Pure: every shard's rows in = rows out and = the plan's count (when the plan knows it). Throws on the first breach. */
export function checkCommits(plan: ShardPlan, commits: ShardCommit[], where: string): void {
  const problems: string[] = [];
  for (const c of commits) {
    const s = plan.shards[c.shard];
    if (!s) problems.push(`commit for shard ${c.shard}, which the plan does not have`);
    else if (s.rows !== null && c.rowsIn !== s.rows) problems.push(`shard ${c.shard} read ${c.rowsIn} rows; the plan has ${s.rows}`);
    if (c.rowsIn !== c.rowsOut) problems.push(`shard ${c.shard} read ${c.rowsIn} rows but wrote ${c.rowsOut}`);
    const fileRows = c.files.reduce((n, f) => n + f.rows, 0);
    if (fileRows !== c.rowsOut) problems.push(`shard ${c.shard} lists parts with ${fileRows} rows but reports ${c.rowsOut}`);
  }
  const seen = new Set(commits.map((c) => c.shard));
  if (seen.size !== commits.length) problems.push('a shard committed twice');
  if (plan.totalRows !== null) {
    const out = commits.reduce((n, c) => n + c.rowsOut, 0);
    if (out !== plan.totalRows) problems.push(`${out} rows written for ${plan.totalRows} input rows`);
  }
  if (problems.length > 0) throw new BatchscoreError('RUN_INCOMPLETE', `${where}: rows do not add up: ${problems.join('; ')}`);
}
