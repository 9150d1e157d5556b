import { fmtInt, fmtSeconds } from './fmt.js';

/** What one progress line shows; see Progress (progress.ts) for where each number comes from. */
export interface ProgressView {
  rows: number;
  /** Parquet: the plan's row count; CSV/JSONL: null (known only once every line is read). */
  totalRows: number | null;
  /** 0..1 of the work done, or null when nothing says (then no bar, percentage or ETA). */
  fraction: number | null;
  elapsedSeconds: number;
  shardsDone: number;
  shards: number;
}

const MIN_BAR = 10;
const MAX_BAR = 40;

/**
 * One progress line for a terminal `width` columns wide, at most `width - 1` characters: a line that reaches the
 * last column leaves some terminals' cursor waiting to wrap, and the next redraw (`\r`) then lands a line lower.
 * The bar's width depends on the terminal only (a quarter of it, 10 to 40), so it does not jitter as the
 * numbers grow. Items are kept most useful first while they fit: the percentage, the ETA, the bar, the row
 * count, the shard count, rows/s; a lone item still too wide is cut.
 */
export function formatProgress(v: ProgressView, width: number): string {
  const max = Math.max(0, Math.floor(width) - 1);
  const f = v.fraction === null ? null : Math.min(1, Math.max(0, v.fraction));
  const inner = Math.min(MAX_BAR, Math.max(MIN_BAR, Math.floor(width / 4)));
  const rate = v.elapsedSeconds > 0 ? v.rows / v.elapsedSeconds : 0;
  // In display order; `keep` ranks what stays when the line is too narrow (6 first).
  const items: { text: string; keep: number; bar?: boolean }[] = [];
  if (f !== null) {
    const filled = Math.round(f * inner);
    items.push({ text: `[${'#'.repeat(filled)}${'.'.repeat(inner - filled)}]`, keep: 4, bar: true });
    // Floored, so that 100% means done; padded, so that the text after it stays put from 9% to 10%.
    items.push({ text: `${Math.floor(f * 100)}%`.padStart(4), keep: 6 });
  }
  items.push({ text: `${fmtInt(v.rows)}${v.totalRows !== null ? '/' + fmtInt(v.totalRows) : ''} rows`, keep: 3 });
  items.push({ text: `${fmtInt(Math.round(rate))} rows/s`, keep: 1 });
  if (f !== null) {
    const eta = f >= 1 ? 0 : f > 0 && v.elapsedSeconds > 0 ? (v.elapsedSeconds * (1 - f)) / f : Number.NaN;
    items.push({ text: `ETA ${fmtSeconds(eta)}`, keep: 5 });
  }
  items.push({ text: `shards ${v.shardsDone}/${v.shards}`, keep: 2 });
  // Two spaces between items; one after the bar, whose percentage is padded already.
  const join = (shown: typeof items) =>
    shown
      .map((i, k) => (k === 0 ? '' : shown[k - 1]!.bar ? ' ' : '  ') + i.text)
      .join('')
      .trimStart();
  // Most useful first, each kept if it still fits (a short one may fit where a longer, more useful one did not).
  const kept = new Set<(typeof items)[number]>();
  for (const item of [...items].sort((a, b) => b.keep - a.keep)) {
    kept.add(item);
    if (join(items.filter((i) => kept.has(i))).length > max && kept.size > 1) kept.delete(item);
  }
  return join(items.filter((i) => kept.has(i))).slice(0, max);
}
