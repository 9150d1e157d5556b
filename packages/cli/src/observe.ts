import {
  errorMessage,
  postWebhook,
  pushMetrics,
  toCompletedNotification,
  toFailedNotification,
  toRunRegistry,
  toShardRegistry,
  webhookUrl,
  pad,
  SHARD_DIGITS,
  BatchscoreError,
  type BatchManifest,
  type ScoringJob,
  type ShardMetrics,
} from '@batchscore/core';
import { describeDrift } from '@batchscore/merge';
import { log } from './log.js';

/**
 * Metrics and notifications are reports about a run, not part of it: when the Pushgateway or the webhook cannot be
 * reached, the run's result stands and a warning says what was not delivered.
 */
export async function reportShard(job: ScoringJob, batchDate: string, shard: number, m: ShardMetrics): Promise<void> {
  const url = job.spec.metrics.pushgateway;
  if (!url) return;
  try {
    await pushMetrics(url, groupOf(job, batchDate, pad(shard, SHARD_DIGITS)), toShardRegistry(m));
  } catch (err) {
    log().warn(`metrics for shard ${shard} not pushed to ${url}: ${errorMessage(err)}`, { shard });
  }
}

/**
 * After a run's outcome is known. `merged`: this process merged (or failed to merge) the run, so it pushes the run's
 * metrics and warns of drift; `notify`: it also sends the webhook (run --local and the exit handler do, merge pods
 * leave that to the exit handler).
 */
export async function reportRun(
  job: ScoringJob,
  batchDate: string,
  r: { manifest: BatchManifest; manifestUri: string; alreadyComplete?: boolean } | { error: unknown },
  o: { merged: boolean; notify: boolean; workflow?: string },
): Promise<void> {
  const manifest = 'manifest' in r ? r.manifest : undefined;
  const code = 'error' in r ? (r.error instanceof BatchscoreError ? r.error.code : 'INTERNAL') : undefined;
  if (o.merged && manifest?.quality?.drift.status === 'drift' && !('alreadyComplete' in r && r.alreadyComplete)) {
    log().warn(`prediction drift: ${describeDrift(manifest.quality)}`, { drift: manifest.quality.drift });
  }
  const url = job.spec.metrics.pushgateway;
  if (url && o.merged) {
    try {
      await pushMetrics(
        url,
        groupOf(job, batchDate, 'merge'),
        toRunRegistry({ ...(manifest ? { manifest } : {}), ...(code ? { failedCode: code } : {}), now: new Date() }),
      );
    } catch (err) {
      log().warn(`run metrics not pushed to ${url}: ${errorMessage(err)}`);
    }
  }
  if (!o.notify || !job.spec.notify.webhook || ('alreadyComplete' in r && r.alreadyComplete)) return;
  const n =
    'manifest' in r
      ? toCompletedNotification(r.manifest, r.manifestUri)
      : toFailedNotification({
          job: job.metadata.name,
          batchDate,
          modelVersion: job.spec.model.version,
          code: code!,
          message: errorMessage(r.error),
          ...(o.workflow ? { workflow: o.workflow } : {}),
        });
  try {
    const sent = await postWebhook(webhookUrl(job, process.env)!, n);
    log().info(`notified the webhook: run ${n.status}${sent.attempts > 1 ? ` (after ${sent.attempts} attempts)` : ''}`);
  } catch (err) {
    log().warn(`notification not delivered: ${errorMessage(err)}`);
  }
}

function groupOf(job: ScoringJob, batchDate: string, shard: string) {
  return { job: job.metadata.name, batch_date: batchDate, model_version: job.spec.model.version, shard };
}
