import { BatchscoreError } from './errors.js';
import { errorNames, isTransient, isTransientStatus } from './transient.js';
import type { BatchManifest } from './run/manifest.js';
import type { ScoringJob } from './spec.js';

export interface Notification {
  event: 'batchscore.run.completed' | 'batchscore.run.failed';
  status: 'complete' | 'failed';
  job: string;
  batch_date: string;
  model_version: string;
  run_id?: string;
  /** One line for people (chat webhooks show `text`). */
  text: string;
  manifest_uri?: string;
  summary?: {
    record_count: number;
    input_record_count: number;
    quarantined_record_count: number;
    shard_count: number;
    duration_s: number;
    throughput_rows_per_s: number;
    execution_provider: string;
    cost?: BatchManifest['cost'];
    drift?: { status: string; psi: Record<string, number>; baseline_date?: string };
  };
  error?: { code: string; message: string };
  workflow?: string;
}

/** Pure: the message for a completed run. */
export function toCompletedNotification(m: BatchManifest, manifestUri: string): Notification {
  const drift = m.quality?.drift;
  const cost = m.cost ? `, ${m.cost.total} ${m.cost.currency}` : '';
  const q = m.quarantined_record_count ? `, ${m.quarantined_record_count} quarantined` : '';
  const d =
    drift?.status === 'drift'
      ? `; DRIFT (${Object.entries(drift.psi)
          .map(([k, v]) => `${k} PSI ${v.toFixed(3)}`)
          .join(', ')})`
      : '';
  return {
    event: 'batchscore.run.completed',
    status: 'complete',
    job: m.job,
    batch_date: m.batch_date,
    model_version: m.model.version,
    run_id: m.run_id,
    text:
      `batchscore ${m.job} ${m.batch_date} (model ${m.model.version}): complete, ${m.record_count} ` +
      `rows scored${q} in ${m.duration_s}s${cost}${d}`,
    manifest_uri: manifestUri,
    summary: {
      record_count: m.record_count,
      input_record_count: m.input_record_count,
      quarantined_record_count: m.quarantined_record_count,
      shard_count: m.shard_count,
      duration_s: m.duration_s,
      throughput_rows_per_s: m.throughput_rows_per_s,
      execution_provider: m.execution_provider,
      ...(m.cost ? { cost: m.cost } : {}),
      ...(drift
        ? {
            drift: {
              status: drift.status,
              psi: drift.psi,
              ...(drift.baseline ? { baseline_date: drift.baseline.batch_date } : {}),
            },
          }
        : {}),
    },
  };
}

/** Pure: the message for a failed run. */
export function toFailedNotification(o: {
  job: string;
  batchDate: string;
  modelVersion: string;
  code: string;
  message: string;
  workflow?: string;
}): Notification {
  return {
    event: 'batchscore.run.failed',
    status: 'failed',
    job: o.job,
    batch_date: o.batchDate,
    model_version: o.modelVersion,
    text:
      `batchscore ${o.job} ${o.batchDate} (model ${o.modelVersion}): FAILED [${o.code}] ` +
      `${o.message.split('\n')[0]}`,
    error: { code: o.code, message: o.message },
    ...(o.workflow ? { workflow: o.workflow } : {}),
  };
}

/** The webhook URL of a job, from the spec or the environment variable it names; undefined when none is set. */
export function webhookUrl(job: ScoringJob, env: NodeJS.ProcessEnv): string | undefined {
  const w = job.spec.notify.webhook;
  if (!w) return undefined;
  if (w.url) return w.url;
  const v = env[w.urlFromEnv!];
  if (!v)
    throw new BatchscoreError(
      'SPEC_INVALID',
      `spec.notify.webhook.urlFromEnv: environment variable ${w.urlFromEnv} is not set`,
    );
  return v;
}

/**
 * POSTs the notification as JSON. Transient failures (isTransient: network errors, timeouts; 408, 429 and 5xx
 * answers) are retried with backoff and jitter; others fail at once. The URL is never echoed in errors: chat
 * webhooks carry their secret in it.
 */
export async function postWebhook(
  url: string,
  n: Notification,
  o: { attempts?: number; timeoutMs?: number; baseDelayMs?: number } = {},
): Promise<{ attempts: number }> {
  const attempts = o.attempts ?? 4;
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    try {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'batchscore' },
        body: JSON.stringify(n),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      await r.arrayBuffer().catch(() => undefined);
      if (r.ok) return { attempts: i };
      last = `HTTP ${r.status}`;
      if (!isTransientStatus(r.status))
        throw new BatchscoreError('WEBHOOK_FAILED', `webhook (spec.notify.webhook) answered ${last}; not retried`, {
          retryable: false,
        });
    } catch (err) {
      if (err instanceof BatchscoreError) throw err;
      // fetch says only "fetch failed"; the errno (ECONNREFUSED, ENOTFOUND…) is on its cause.
      const errno = errorNames(err).find((n) => /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(n));
      const why =
        (err as Error).name === 'TimeoutError'
          ? 'timed out'
          : `${String((err as Error)?.message ?? err)}${errno ? ` (${errno})` : ''}`;
      if (!isTransient(err))
        throw new BatchscoreError('WEBHOOK_FAILED', `webhook (spec.notify.webhook) failed: ${why}; not retried`, {
          cause: err,
          retryable: false,
        });
      last = why;
    }
    if (i < attempts)
      await new Promise((r) => setTimeout(r, (o.baseDelayMs ?? 500) * 2 ** (i - 1) * (0.5 + Math.random())));
  }
  throw new BatchscoreError(
    'WEBHOOK_FAILED',
    `webhook (spec.notify.webhook) failed ${attempts} times (last: ${last})`,
    {
      retryable: true,
    },
  );
}
