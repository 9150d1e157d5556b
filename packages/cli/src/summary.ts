import type { BatchManifest } from '@batchscore/core';
import { formatOutput } from './outputFormat.js';
import { fmtBytes, fmtInt, fmtSeconds } from './progress.js';

/** The run's outcome as a record: what `-o json|yaml` prints, and a pod's merge prints as one JSON line. */
export function summaryRecord(m: BatchManifest, manifestUri: string, alreadyComplete: boolean) {
  return {
    manifest: manifestUri,
    status: m.status,
    ...(alreadyComplete ? { alreadyComplete } : {}),
    rowsIn: m.input_record_count,
    rowsOut: m.record_count,
    rowsQuarantined: m.quarantined_record_count,
    shards: m.shard_count,
    executionProvider: m.execution_provider,
    seconds: m.duration_s,
    output: m.output.uri,
    files: m.files.length,
    bytes: m.files.reduce((n, f) => n + f.bytes, 0),
  };
}

/**
 * The run's outcome on stdout: with -o json|yaml its record; else a few aligned lines for a person, or, with
 * --log-format json (merge in a pod), the record as one JSON line like `plan`'s and `score`'s, so that everything
 * the pod prints parses.
 */
export function printSummary(
  m: BatchManifest,
  manifestUri: string,
  alreadyComplete: boolean,
  output: 'json' | 'yaml' | undefined,
  out: NodeJS.WritableStream = process.stdout,
  // main puts the resolved --log-format into the environment for every command (and worker processes).
  logFormat: string | undefined = process.env.BATCHSCORE_LOG_FORMAT,
): void {
  const format = output ?? (logFormat === 'json' ? 'json' : undefined);
  if (format) {
    out.write(formatOutput(summaryRecord(m, manifestUri, alreadyComplete), format));
    return;
  }
  const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
  const lines = [
    `${m.job} ${m.batch_date} model ${m.model.version}: ${m.status}` +
      `${alreadyComplete ? ' (already; nothing rescored)' : ''}`,
    `  rows        ${fmtInt(m.record_count)} scored of ${fmtInt(m.input_record_count)} ` +
      `read, in ${m.shard_count} shard${m.shard_count === 1 ? '' : 's'} (${m.execution_provider})`,
    ...(m.quarantined_record_count > 0
      ? [
          `  quarantine  ${fmtInt(m.quarantined_record_count)} invalid rows ` +
            `(${(m.quarantine.invalid_fraction * 100).toPrecision(3)}%, ` +
            `limit ${m.quarantine.max_invalid_fraction * 100}%): ${Object.entries(m.quarantine.by_reason)
              .slice(0, 3)
              .map(([k, n]) => `${k} ${fmtInt(n)}`)
              .join(', ')}`,
          `              ${m.quarantine.uri}`,
        ]
      : []),
    m.resumed
      ? `  time        ${fmtSeconds(m.duration_s)} (resumed: earlier attempts scored some ` +
        `shards); ${fmtInt(m.throughput_rows_per_s)} rows/s per worker over ${fmtSeconds(m.scoring_seconds)} ` +
        `of scoring`
      : `  throughput  ${fmtInt(Math.round(m.input_record_count / Math.max(m.duration_s, 0.001)))} ` +
        `rows/s over ${fmtSeconds(m.duration_s)} (${fmtInt(m.throughput_rows_per_s)} rows/s ` +
        `per worker)`,
    ...(m.cost
      ? [`  cost        ${m.cost.total} ${m.cost.currency} (${m.cost.per_million_rows} per million rows)`]
      : []),
    ...(m.quality && m.quality.drift.status !== 'no_baseline'
      ? [
          `  drift       ${m.quality.drift.status} against ${m.quality.drift.baseline?.batch_date}: ${Object.entries(
            m.quality.drift.psi,
          )
            .map(([k, v]) => `${k} PSI ${v.toFixed(3)}`)
            .join(', ')}`,
        ]
      : []),
    `  output      ${m.output.uri} (${m.files.length} file${m.files.length === 1 ? '' : 's'}, ${fmtBytes(bytes)})`,
    `  manifest    ${manifestUri}`,
  ];
  out.write(lines.join('\n') + '\n');
}
