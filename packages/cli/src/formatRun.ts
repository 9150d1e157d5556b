import type { BatchManifest, Histogram } from '@batchscore/core';
import { fmtBytes, fmtInt, fmtSeconds } from './progress.js';

const BARS = '▁▂▃▄▅▆▇█';

/** A histogram as one line of bars, so its shape reads at a glance in a terminal. */
export function sparkline(h: Histogram): string {
  const max = Math.max(...h.counts, 1);
  return h.counts
    .map((c) => (c === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((c / max) * (BARS.length - 1) + 0.5))]))
    .join('');
}

const num = (v: number | null | undefined) =>
  v === null || v === undefined
    ? '-'
    : Math.abs(v) >= 1e7 || (v !== 0 && Math.abs(v) < 1e-3)
      ? v.toExponential(3)
      : String(Number(v.toPrecision(6)));

/** Pure: the text `inspect` prints for a complete run. */
export function formatManifest(m: BatchManifest, uri: string): string {
  const L: string[] = [];
  const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
  L.push(`${m.job} ${m.batch_date}: ${m.status}`);
  L.push(`  run          ${m.run_id}`);
  L.push(`  model        ${m.model.version} sha256 ${m.model.sha256.slice(0, 12)}… (${m.model.uri})`);
  L.push(
    `  input        ${m.input.uri} (${m.input.format}, ${fmtInt(m.input.file_count)} ` +
      `file${m.input.file_count === 1 ? '' : 's'}, ${fmtBytes(m.input.bytes)})`,
  );
  L.push(
    `  output       ${m.output.uri} (${m.files.length} file${m.files.length === 1 ? '' : 's'}, ${fmtBytes(bytes)})`,
  );
  L.push(`  manifest     ${uri}`);
  L.push(
    `  rows         ${fmtInt(m.input_record_count)} read, ${fmtInt(m.record_count)} scored, ` +
      `${fmtInt(m.quarantined_record_count ?? 0)} quarantined`,
  );
  if (m.quarantined_record_count > 0) {
    const why = Object.entries(m.quarantine.by_reason)
      .map(([k, n]) => `${k} ${fmtInt(n)}`)
      .join(', ');
    L.push(
      `  quarantine   ${(m.quarantine.invalid_fraction * 100).toPrecision(3)}% ` +
        `(limit ${m.quarantine.max_invalid_fraction * 100}%): ${why}; in ${m.quarantine.uri}`,
    );
  }
  L.push(
    `  time         ${fmtSeconds(m.duration_s)} this attempt${m.resumed ? ' (resumed)' : ''} ` +
      `(${m.started_at} → ${m.finished_at}); ${fmtSeconds(m.scoring_seconds)} of scoring, ` +
      `${fmtInt(m.throughput_rows_per_s)} rows/s per worker`,
  );
  L.push(`  provider     ${m.execution_provider}`);
  if (m.cost) {
    L.push(
      `  cost         ${m.cost.total} ${m.cost.currency} (${m.cost.per_million_rows} per ` +
        `million rows; ${m.cost.node_seconds} node-seconds at ${m.cost.cpu_node_hour} CPU ` +
        `/ ${m.cost.gpu_node_hour} GPU per node-hour)`,
    );
  }
  L.push('');
  L.push(`  shards (${m.shard_count})`);
  L.push(
    '    shard      rows in   scored  quarant.   seconds     rows/s  attempt  provider  peak RSS' +
      (m.cost ? `  cost` : ''),
  );
  for (const s of m.shards) {
    L.push(
      `    ${String(s.index).padStart(5, '0')}  ${fmtInt(s.rows_in).padStart(10)} ${fmtInt(s.rows_out).padStart(8)} ` +
        `${fmtInt(s.rows_quarantined ?? 0).padStart(9)} ${s.duration_s.toFixed(2).padStart(9)} ` +
        `${fmtInt(Math.round(s.rows_in / Math.max(s.duration_s, 0.001))).padStart(10)} ` +
        `${String(s.attempt ?? 1).padStart(8)} ` +
        ` ${s.execution_provider.padEnd(8)}  ${s.peak_rss_bytes ? fmtBytes(s.peak_rss_bytes) : '-'}` +
        (m.cost && s.cost !== undefined ? `  ${s.cost}` : ''),
    );
  }
  if (m.quality) {
    const q = m.quality;
    L.push('');
    L.push('  predictions  (histogram: 20 buckets from min to max)');
    for (const [k, p] of Object.entries(q.predictions)) {
      L.push(`    ${k}  mean ${num(p.mean)}  min ${num(p.min)}  max ${num(p.max)}  |${sparkline(p.histogram)}|`);
    }
    L.push('  features');
    for (const [k, f] of Object.entries(q.features)) {
      L.push(
        `    ${k.padEnd(16)} mean ${num(f.mean).padEnd(10)} min ${num(f.min).padEnd(10)} ` +
          `max ${num(f.max).padEnd(10)} ` +
          `nulls ${fmtInt(f.nulls)}${f.non_finite ? `  non-finite ${fmtInt(f.non_finite)}` : ''}`,
      );
    }
    const d = q.drift;
    const psis = Object.entries(d.psi)
      .map(([k, v]) => `${k} PSI ${v.toFixed(3)}`)
      .join(', ');
    L.push(
      `  drift        ${
        d.status === 'no_baseline'
          ? 'no baseline run found'
          : `${d.status.toUpperCase()} against ${d.baseline!.batch_date} (${d.baseline!.run_id}): ` +
            `${psis || 'no common prediction column'}`
      } (threshold ${d.threshold})`,
    );
  }
  L.push(`  batchscore   ${m.batchscore_version}`);
  return L.join('\n') + '\n';
}

/** Pure: the text `inspect` prints for a failed run. */
export function formatFailure(f: Record<string, unknown>, uri: string): string {
  const L = [`${String(f.job)} ${String(f.batch_date)}: FAILED`, `  record       ${uri}`];
  for (const [k, v] of Object.entries(f)) {
    if (['job', 'batch_date', 'status'].includes(k)) continue;
    L.push(`  ${k.padEnd(12)} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return L.join('\n') + '\n';
}
