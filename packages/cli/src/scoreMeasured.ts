import {
  BatchscoreError,
  IMAGE_ENV,
  type Device,
  type PlanHeader,
  type ShardRecord,
  type StoreFactory,
} from '@batchscore/core';
import { loadModel, scoreShard, type LoadedModel, type ScoreOptions } from '@batchscore/worker';
import { log } from './log.js';
import { reportShard } from './observe.js';

/**
 * Scores a shard and reports it: a structured log line and, with spec.metrics.pushgateway, the shard's metrics
 * (also on failure, as an error count). A shard skipped as already committed reports nothing new.
 */
export async function scoreMeasured(
  plan: PlanHeader,
  record: ShardRecord,
  open: StoreFactory,
  o: ScoreOptions,
): Promise<Awaited<ReturnType<typeof scoreShard>>> {
  const shard = record.index;
  const batchSeconds: number[] = [];
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  // The image a rendered pod was told it runs (nothing outside a cluster): its parts and commit record it.
  const image = process.env[IMAGE_ENV] || undefined;
  try {
    const commit = await scoreShard(plan, record, open, {
      ...o,
      ...(image ? { image } : {}),
      onBatch: (s) => batchSeconds.push(s),
    });
    if (commit.skipped) return commit;
    const from = commit.scored?.from ?? 0;
    const fields = {
      shard,
      rowsIn: commit.rowsIn,
      rowsOut: commit.rowsOut,
      rowsQuarantined: commit.rowsQuarantined,
      seconds: Number(seconds().toFixed(3)),
      attempt: commit.attempt,
      ...(from > 0 ? { resumedAt: from } : {}),
      rowsRescored: commit.rowsRescored ?? 0,
    };
    const resumed = from > 0 ? ` (resumed at row ${from}, after the parts committed before)` : '';
    // Under run --local the progress bar already shows this; pods log it as the shard's record.
    (process.send ? log().debug : log().info)(
      `shard ${shard}: ${commit.rowsOut} rows scored, ${commit.rowsQuarantined} quarantined in ${fields.seconds}s` +
        resumed,
      fields,
    );
    await reportShard(plan.job, plan.batchDate, shard, {
      rowsIn: commit.rowsIn,
      rowsOut: commit.rowsOut,
      rowsQuarantined: commit.rowsQuarantined,
      seconds: seconds(),
      batchSeconds,
      errors: {},
    });
    return commit;
  } catch (err) {
    const code = err instanceof BatchscoreError ? err.code : 'INTERNAL';
    await reportShard(plan.job, plan.batchDate, shard, {
      rowsIn: 0,
      rowsOut: 0,
      rowsQuarantined: 0,
      seconds: seconds(),
      batchSeconds,
      errors: { [code]: 1 },
    });
    throw err;
  }
}

export type LoadOptions = { threads?: number; device?: Device; defaultDevice?: Device };

/** Loads the plan's model once per process, logging through the process's log. */
export function loadPlanModel(plan: PlanHeader, open: StoreFactory, o: LoadOptions): Promise<LoadedModel> {
  const threads = o.threads ?? plan.job.spec.worker.threads;
  return loadModel(plan.job, open, {
    expect: plan.model,
    ...(threads ? { threads } : {}),
    ...(o.device ? { device: o.device } : {}),
    ...(o.defaultDevice ? { defaultDevice: o.defaultDevice } : {}),
    // Through the process's log, so that with --log-format json the CUDA fallback warning is a JSON line too.
    log: (line) => log().warn(line),
    info: (line) => log().info(line),
  });
}
