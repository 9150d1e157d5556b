import { addCounts } from '../counts.js';
import { BatchscoreError } from '../errors.js';
import { mergeFeatureStats, mergeSketches, type FeatureStats, type Sketch } from '../quality.js';
import type {
  AttemptClaim,
  AttemptEnd,
  AttemptRows,
  CommitOwner,
  InputPosition,
  PartCommit,
  PartTotals,
  ShardCommit,
} from './records.js';

/**
 * Pure: the committed parts that follow one another from `from` on (each starting where the one before ended), by
 * their first rows. Parts are created exclusively by first row, and an attempt starts a part only at a part boundary
 * or where the committed parts end, so they never overlap: this is the one way through them.
 */
export function followParts(parts: ReadonlyMap<number, PartCommit>, from: number): PartCommit[] {
  const out: PartCommit[] = [];
  for (let p = parts.get(from); p; p = parts.get(p.end.row)) {
    out.push(p);
    // A part with no rows (never written, but a record is data) would loop.
    if (p.end.row <= p.start.row) break;
  }
  return out;
}

/** Pure: where an attempt resumes after the parts committed from `from` on: the end of the last, else `from`. */
export function resumePosition(parts: ReadonlyMap<number, PartCommit>, from: InputPosition): InputPosition {
  return followParts(parts, from.row).at(-1)?.end ?? from;
}

/** What one attempt did, as the attempt that finishes the shard knows it. */
export interface AttemptSeen {
  attempt: number;
  claim?: AttemptClaim;
  end?: AttemptEnd;
  /** Rows this very process scored (the attempt writing the commit). */
  scored?: number;
}

/**
 * Pure: every attempt's rows, and the rows scored again. An attempt that said how it ended gave its count; the one
 * finishing knows its own; one that vanished (SIGKILL, OOM, node loss) is counted as having scored its kept parts and
 * the whole part after its last (or after where it started): how far it got there is not known, so the cost is
 * stated at its most. Its next part boundary is `nextBoundary(row)`.
 */
export function attemptRows(
  seen: readonly AttemptSeen[],
  chain: readonly PartCommit[],
  o: { finisher: number; rowsIn: number; rowsPerPart: number },
): { attempts: AttemptRows[]; rowsRescored: number } {
  const kept = new Map<number, number>();
  const lastEnd = new Map<number, number>();
  for (const p of chain) {
    kept.set(p.attempt, (kept.get(p.attempt) ?? 0) + p.end.row - p.start.row);
    lastEnd.set(p.attempt, Math.max(lastEnd.get(p.attempt) ?? 0, p.end.row));
  }
  const attempts = [...seen]
    .sort((a, b) => a.attempt - b.attempt)
    .map((a): AttemptRows => {
      const rowsKept = kept.get(a.attempt) ?? 0;
      if (a.attempt === o.finisher)
        return { attempt: a.attempt, rowsScored: Math.max(a.scored ?? 0, rowsKept), rowsKept, outcome: 'finished' };
      if (a.end)
        return {
          attempt: a.attempt,
          rowsScored: Math.max(a.end.rowsScored, rowsKept),
          rowsKept,
          outcome: a.end.outcome,
        };
      const from = Math.max(a.claim?.from ?? 0, lastEnd.get(a.attempt) ?? 0);
      const inFlight = Math.min(o.rowsIn, (Math.floor(from / o.rowsPerPart) + 1) * o.rowsPerPart) - from;
      return { attempt: a.attempt, rowsScored: rowsKept + Math.max(0, inFlight), rowsKept, outcome: 'killed' };
    });
  return { attempts, rowsRescored: attempts.reduce((n, a) => n + a.rowsScored - a.rowsKept, 0) };
}

/**
 * Pure: a shard's commit from the parts that cover its input, in order: their rows and files added up, statistics
 * merged. Throws when the parts disagree on the data files' columns (one table would read as two).
 */
export function toShardCommit(
  owner: CommitOwner,
  shard: number,
  chain: readonly PartCommit[],
  o: {
    attempt: number;
    attempts: AttemptRows[];
    rowsRescored: number;
    finishedAt: Date;
    startedAt: Date;
    /** The finishing attempt's, for a shard without rows (no part says). */
    executionProvider: string;
    batchSize?: number;
    /** The finishing attempt's build, for a shard without rows. */
    build?: Build;
  },
): ShardCommit {
  const first = chain.find((p) => p.columns);
  const show = (cols: { name: string; type: string }[]) => cols.map((c) => `${c.name} ${c.type}`).join(', ');
  for (const p of chain) {
    if (p.columns && first?.columns && show(p.columns) !== show(first.columns))
      throw new BatchscoreError(
        'INPUT_INVALID',
        `shard ${shard}: rows ${p.start.row}-${p.end.row - 1} wrote columns (${show(p.columns)}) where rows ` +
          `${first.start.row}-${first.end.row - 1} wrote (${show(first.columns)}); every input file must give the ` +
          `columns the same types`,
      );
  }
  const features: Record<string, FeatureStats> = {};
  const predictions: Record<string, Sketch> = {};
  for (const p of chain) {
    for (const [k, s] of Object.entries(p.quality?.features ?? {}))
      features[k] = features[k] ? mergeFeatureStats(features[k]!, s) : s;
    for (const [k, s] of Object.entries(p.quality?.predictions ?? {}))
      predictions[k] = predictions[k] ? mergeSketches(predictions[k]!, s) : s;
  }
  const started = Math.min(o.startedAt.getTime(), ...chain.map((p) => Date.parse(p.startedAt)));
  const rss = Math.max(0, ...chain.map((p) => p.peakRssBytes ?? 0));
  const last = chain.at(-1);
  // Parts of one shard may come from attempts on other devices (a GPU pod, then a CPU one): the shard's is the one
  // that scored most of its rows.
  const byProvider = new Map<string, number>();
  for (const p of chain)
    byProvider.set(p.executionProvider, (byProvider.get(p.executionProvider) ?? 0) + p.end.row - p.start.row);
  const provider = [...byProvider].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  const build = chain.length > 0 ? mostRowsBuild(chain) : (o.build ?? {});
  return {
    runId: owner.runId,
    planId: owner.planId,
    shard,
    attempt: o.attempt,
    rowsIn: last ? last.end.row : 0,
    rowsOut: chain.reduce((n, p) => n + p.rowsOut, 0),
    rowsQuarantined: chain.reduce((n, p) => n + p.rowsQuarantined, 0),
    files: chain.flatMap((p) => p.files),
    ...(first?.columns ? { columns: first.columns } : {}),
    quarantineFiles: chain.flatMap((p) => p.quarantineFiles),
    invalidCounts: chain.reduce((acc, p) => addCounts(acc, p.invalidCounts), {} as Record<string, number>),
    quality: { features, predictions },
    executionProvider: provider ?? o.executionProvider,
    ...build,
    ...(rss ? { peakRssBytes: rss } : {}),
    ...((last?.batchSize ?? o.batchSize) ? { batchSize: last?.batchSize ?? o.batchSize } : {}),
    startedAt: new Date(started).toISOString(),
    finishedAt: o.finishedAt.toISOString(),
    durationS: Math.round(chain.reduce((n, p) => n + p.durationS, 0) * 1000) / 1000,
    parts: chain.map((p) => ({ start: p.start.row, end: p.end.row, attempt: p.attempt })),
    attempts: o.attempts,
    rowsRescored: o.rowsRescored,
  };
}

/** Which build scored rows: a part's (or a shard's) image, Node and onnxruntime, each unset where not recorded. */
export type Build = Pick<PartTotals, 'image' | 'nodeVersion' | 'onnxruntimeVersion'>;

/**
 * Pure: the build that scored most of the parts' rows, as the execution provider is chosen (the parts of a shard may
 * come from attempts in other pods, even other images; each part keeps its own).
 */
function mostRowsBuild(chain: readonly PartCommit[]): Build {
  const rows = new Map<string, { build: Build; rows: number }>();
  for (const p of chain) {
    const build: Build = {
      ...(p.image ? { image: p.image } : {}),
      ...(p.nodeVersion ? { nodeVersion: p.nodeVersion } : {}),
      ...(p.onnxruntimeVersion ? { onnxruntimeVersion: p.onnxruntimeVersion } : {}),
    };
    const key = JSON.stringify([p.image, p.nodeVersion, p.onnxruntimeVersion]);
    const seen = rows.get(key) ?? { build, rows: 0 };
    seen.rows += p.end.row - p.start.row;
    rows.set(key, seen);
  }
  return [...rows.values()].sort((a, b) => b.rows - a.rows)[0]!.build;
}
