import { BatchscoreError } from '../errors.js';
import { stagedPartOf } from '../keys.js';
import type { ShardPlan } from '../plan.js';
import type { ShardCommit } from './records.js';

/**
 * Pure: conservation, and exactly one copy of every range. Every shard's rows in = rows out + rows quarantined, its
 * files hold exactly those rows, its parts cover its input rows once (from row 0, each where the one before ended,
 * to its last row: no gap, no overlap) and each file belongs to one of them, from that part's attempt; rows in = the
 * plan's count (when the plan knows it). Throws with every breach found.
 */
export function checkCommits(plan: ShardPlan, commits: ShardCommit[], where: string): void {
  const problems: string[] = [];
  for (const c of commits) {
    const s = plan.shards[c.shard];
    if (!s) problems.push(`commit for shard ${c.shard}, which the plan does not have`);
    else if (s.rows !== null && c.rowsIn !== s.rows)
      problems.push(`shard ${c.shard} read ${c.rowsIn} rows; the plan has ${s.rows}`);
    const q = c.rowsQuarantined ?? 0;
    if (c.rowsIn !== c.rowsOut + q)
      problems.push(`shard ${c.shard} read ${c.rowsIn} rows but wrote ${c.rowsOut} and quarantined ${q}`);
    const fileRows = c.files.reduce((n, f) => n + f.rows, 0);
    if (fileRows !== c.rowsOut)
      problems.push(`shard ${c.shard} lists parts with ${fileRows} rows but reports ${c.rowsOut}`);
    const qRows = (c.quarantineFiles ?? []).reduce((n, f) => n + f.rows, 0);
    if (qRows !== q) problems.push(`shard ${c.shard} lists quarantine files with ${qRows} rows but reports ${q}`);
    if (c.parts) problems.push(...checkParts(c));
  }
  const seen = new Set(commits.map((c) => c.shard));
  if (seen.size !== commits.length) problems.push('a shard committed twice');
  if (plan.totalRows !== null) {
    const out = commits.reduce((n, c) => n + c.rowsOut + (c.rowsQuarantined ?? 0), 0);
    if (out !== plan.totalRows) problems.push(`${out} rows written or quarantined for ${plan.totalRows} input rows`);
  }
  if (problems.length > 0)
    throw new BatchscoreError('RUN_INVALID', `${where}: rows do not add up: ${problems.join('; ')}`);
  checkColumns(commits, where);
}

/** A shard's parts run from row 0 to its last, one after another, and hold its files (one part, one attempt, each). */
function checkParts(c: ShardCommit): string[] {
  const problems: string[] = [];
  const parts = c.parts ?? [];
  let row = 0;
  for (const p of parts) {
    if (p.start !== row) problems.push(`shard ${c.shard}: a part starts at row ${p.start}, where row ${row} was next`);
    row = p.end;
  }
  if (row !== c.rowsIn) problems.push(`shard ${c.shard}: its parts end at row ${row}, but it read ${c.rowsIn} rows`);
  const attemptAt = new Map(parts.map((p) => [p.start, p.attempt]));
  for (const f of [...c.files, ...(c.quarantineFiles ?? [])]) {
    const of = stagedPartOf(f.key);
    if (!of || attemptAt.get(of.partStart) !== of.attempt)
      problems.push(`shard ${c.shard}: ${f.key} is not a file of one of its parts`);
  }
  return problems;
}

/** Pure: every shard wrote the same columns with the same types, or one table would read as two to a reader. */
export function checkColumns(commits: ShardCommit[], where: string): void {
  const show = (cols: { name: string; type: string }[]) => cols.map((c) => `${c.name} ${c.type}`).join(', ');
  const first = commits.find((c) => c.columns);
  if (!first?.columns) return;
  for (const c of commits) {
    if (c.columns && show(c.columns) !== show(first.columns)) {
      throw new BatchscoreError(
        'INPUT_INVALID',
        `${where}: shard ${c.shard} wrote columns (${show(c.columns)}) where shard ${first.shard} ` +
          `wrote (${show(first.columns)}); every input file must give the columns the same ` +
          `types`,
      );
    }
  }
}
