import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import type { BatchManifest } from './run/manifest.js';

/** What a worker measured on one shard (or failed on). */
export interface ShardMetrics {
  rowsIn: number;
  rowsOut: number;
  rowsQuarantined: number;
  seconds: number;
  /** Wall time of each read batch: read, validate, score, stage. */
  batchSeconds: number[];
  /** Failures by error code. */
  errors: Record<string, number>;
}

/** Pushgateway grouping: every series gets these labels, and one push replaces only its own group. */
export interface MetricsGroup {
  job: string;
  batch_date: string;
  model_version: string;
  /** Zero-padded shard number, or "merge" for the run's own series. */
  shard: string;
}

export const BATCH_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function promClient(): typeof import('prom-client') {
  // Loaded only when a Pushgateway is configured.
  return createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
}

export function toShardRegistry(m: ShardMetrics): Registry {
  const p = promClient();
  const registry = new p.Registry();
  const counter = (name: string, help: string, v: number) =>
    new p.Counter({ name, help, registers: [registry] }).inc(v);
  counter('batchscore_rows_processed_total', 'Input rows read and handled (scored or quarantined).', m.rowsIn);
  counter('batchscore_rows_scored_total', 'Rows scored and written.', m.rowsOut);
  counter('batchscore_rows_quarantined_total', 'Rows not scored because a value was invalid.', m.rowsQuarantined);
  new p.Gauge({
    name: 'batchscore_rows_per_second',
    help: 'Rows per second over the shard.',
    registers: [registry],
  }).set(m.seconds > 0 ? m.rowsIn / m.seconds : 0);
  new p.Gauge({
    name: 'batchscore_shard_duration_seconds',
    help: 'Wall time of the shard.',
    registers: [registry],
  }).set(m.seconds);
  const h = new p.Histogram({
    name: 'batchscore_batch_latency_seconds',
    help: 'Wall time per read batch (read, validate, score, stage).',
    buckets: BATCH_SECONDS_BUCKETS,
    registers: [registry],
  });
  for (const s of m.batchSeconds) h.observe(s);
  const errors = new p.Counter({
    name: 'batchscore_errors_total',
    help: 'Failures by kind (error code).',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const [kind, n] of Object.entries(m.errors)) errors.inc({ kind }, n);
  return registry;
}

/** The run's own series, pushed by merge: totals, cost, drift, and the time of the last success (for alerts). */
export function toRunRegistry(r: { manifest?: BatchManifest; failedCode?: string; now: Date }): Registry {
  const p = promClient();
  const registry = new p.Registry();
  const gauge = (name: string, help: string, v: number, labels?: Record<string, string>) => {
    const g = new p.Gauge({ name, help, labelNames: labels ? Object.keys(labels) : [], registers: [registry] });
    if (labels) g.set(labels, v);
    else g.set(v);
  };
  const m = r.manifest;
  gauge('batchscore_run_success', '1 when the run completed, 0 when it failed.', m ? 1 : 0);
  if (r.failedCode)
    new p.Counter({
      name: 'batchscore_errors_total',
      help: 'Failures by kind (error code).',
      labelNames: ['kind'],
      registers: [registry],
    }).inc({ kind: r.failedCode });
  if (!m) return registry;
  gauge(
    'batchscore_run_last_success_timestamp_seconds',
    'When the run last completed (Unix time).',
    r.now.getTime() / 1000,
  );
  const rows = new p.Gauge({
    name: 'batchscore_run_rows',
    help: 'Rows in the completed run, by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  rows.set({ outcome: 'read' }, m.input_record_count);
  rows.set({ outcome: 'scored' }, m.record_count);
  rows.set({ outcome: 'quarantined' }, m.quarantined_record_count);
  gauge(
    'batchscore_run_duration_seconds',
    'Wall time of the attempt that published the run, plan to merge.',
    m.duration_s,
  );
  gauge(
    'batchscore_run_rows_per_second',
    'Input rows per second of scoring (summed over shards, so true for a resumed run).',
    m.throughput_rows_per_s,
  );
  if (m.cost) {
    gauge('batchscore_run_cost', 'Cost of the run in spec.cost.currency.', m.cost.total, { currency: m.cost.currency });
    gauge('batchscore_run_cost_per_million_rows', 'Cost per million rows scored.', m.cost.per_million_rows, {
      currency: m.cost.currency,
    });
  }
  if (m.quality) {
    const psi = new p.Gauge({
      name: 'batchscore_prediction_psi',
      help: 'Population stability index of a prediction column against the baseline run.',
      labelNames: ['column'],
      registers: [registry],
    });
    for (const [column, v] of Object.entries(m.quality.drift.psi)) psi.set({ column }, v);
    const mean = new p.Gauge({
      name: 'batchscore_prediction_mean',
      help: 'Mean of a prediction column.',
      labelNames: ['column'],
      registers: [registry],
    });
    for (const [column, q] of Object.entries(m.quality.predictions)) if (q.mean !== null) mean.set({ column }, q.mean);
  }
  return registry;
}

/**
 * Pushes a registry to a Pushgateway under /metrics/job/{job}/batch_date/…/model_version/…/shard/…, replacing that
 * group only. Errors are thrown for the caller to log: a missing gateway must not fail a scoring run.
 */
export async function pushMetrics(
  gatewayUrl: string,
  group: MetricsGroup,
  registry: Registry,
  timeoutMs = 10_000,
): Promise<void> {
  const p = promClient();
  const { job, ...groupings } = group;
  const gateway = new p.Pushgateway(gatewayUrl.replace(/\/+$/, ''), { timeout: timeoutMs }, registry);
  const { resp } = (await gateway.push({ jobName: job, groupings })) as { resp?: { statusCode?: number } };
  const status = resp?.statusCode;
  if (status !== undefined && (status < 200 || status >= 300))
    throw new Error(`${gatewayUrl}: Pushgateway answered HTTP ${status}`);
}
