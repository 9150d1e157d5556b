import { availableParallelism } from 'node:os';
import { createPlan, prepareRepair, writePlan } from '@batchscore/coordinator';
import {
  checkPublishedRun,
  damagedShards,
  describeDamage,
  manifestKey,
  mark,
  openRunStores,
  publishedBy,
  publishedByAnother,
  readRunState,
  resetShards,
  runKeyOf,
  storeConcurrency,
  type ScoringJob,
  type ShardPlan,
} from '@batchscore/core';
import { mergeRun, type MergeResult } from '@batchscore/merge';
import { calibrate, checkColumnKinds, loadModel } from '@batchscore/worker';
import { storeFactoryFor } from '../storeFactory.js';
import { scoreAll } from './pool.js';

export interface RunLocalOptions {
  date: string;
  workers?: number;
  force?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface RunLocalResult extends MergeResult {
  plan: ShardPlan;
  planUri: string;
}

/**
 * The local executor: plan → a pool of N worker processes (`batchscore score --serve`, each scoring shards as an
 * Argo score pod does) → merge. A run already complete for the same model is left alone unless `force`.
 */
export async function runLocal(job: ScoringJob, opts: RunLocalOptions): Promise<RunLocalResult> {
  const log = opts.log ?? (() => {});
  const open = storeFactoryFor(job);
  const plan = await createPlan(job, opts.date, open, new Date(), { warn: (l) => log(`warning: ${l}`) });
  mark('planned', { shards: plan.shards.length });
  const { books, records } = openRunStores(job, open);
  const run = runKeyOf(plan);
  const manifestUri = records.uriOf(manifestKey(run));
  const { manifest: existing } = await readRunState(records, run);
  if (existing && !opts.force) {
    if (publishedBy(existing, plan.runId) === 'another run')
      throw publishedByAnother(records, run, existing, plan.runId);
    const check = await checkPublishedRun(open, existing, { concurrency: storeConcurrency(job) });
    if (check.damaged.length === 0) {
      log(`${manifestUri}: already complete (run ${plan.runId}); nothing to do (--force rescores)`);
      return { plan, planUri: '', manifest: existing, manifestUri, alreadyComplete: true };
    }
    // A damaged run is repaired: the shards that wrote the damaged files are scored again (prepareRepair).
    const shards = damagedShards(check);
    const one = shards.length === 1;
    log(
      `warning: ${manifestUri}: ${describeDamage(check)}; scoring shard${one ? '' : 's'} ${shards.join(', ')} ` +
        `again to publish ${one ? 'it' : 'them'} again`,
    );
  }
  // Fail before fan-out when the job and model do not fit, instead of once per worker; and resolve
  // device 'auto' here, so a missing CUDA is reported once rather than by every worker.
  const check = await loadModel(job, open, {
    expect: plan.model,
    threads: 1,
    log: (l) => log(`warning: ${l}`),
    info: log,
  });
  checkColumnKinds(plan, check.inputs);
  mark('model checked');
  const device = check.executionProvider === 'cuda' ? 'cuda' : 'cpu';
  const layout = chooseLayout(job, plan, opts.workers, device === 'cpu' ? await calibrate(check) : undefined);
  await check.session.release();
  mark('calibrated');
  const planUri = await writePlan(books, plan, { force: opts.force ?? false });
  // Once, here: a worker given --force would start its shard over on every restart, losing the parts committed.
  if (opts.force) await resetShards(books, run, storeConcurrency(job));
  else await prepareRepair(open, plan);
  mark('plan written');
  const { workers, threads } = layout;
  log(
    `planned ${plan.shards.length} shard${plan.shards.length === 1 ? '' : 's'}` +
      `${plan.totalRows !== null ? ` (${plan.totalRows.toLocaleString('en-US')} rows)` : ''} ` +
      `from ${plan.files.length} file${plan.files.length === 1 ? '' : 's'}; ` +
      `${workers} worker${workers === 1 ? '' : 's'} × ${threads} thread${threads === 1 ? '' : 's'}`,
  );
  await scoreAll(plan, planUri, {
    workers,
    threads,
    device,
    progress: opts.progress ?? false,
    log,
  });
  mark('scored');
  const merged = await mergeRun(plan, open, { force: opts.force ?? false });
  mark('merged');
  return { ...merged, plan, planUri };
}

/** A model slower than this per thread is compute-bound: reading and writing are then a small share of the work. */
const COMPUTE_BOUND_ROWS_PER_S = 100_000;

/**
 * Worker processes × onnxruntime threads. Measured on this project's fixtures (2 cores): cheap models (mlp,
 * gbdt) run faster as one single-threaded process per core, since each process also reads and writes;
 * a heavy model (wide, ~30k rows/s per thread) runs faster as one process with a thread per core.
 * --workers and spec.worker.threads override the choice.
 */
function chooseLayout(
  job: ScoringJob,
  plan: ShardPlan,
  askedWorkers: number | undefined,
  rowsPerSPerThread: number | undefined,
) {
  const cores = availableParallelism();
  const heavy = rowsPerSPerThread !== undefined && rowsPerSPerThread < COMPUTE_BOUND_ROWS_PER_S;
  const wanted = askedWorkers ?? (heavy && !job.spec.worker.threads ? 1 : cores);
  const workers = Math.max(1, Math.min(wanted, plan.shards.length));
  const threads = job.spec.worker.threads ?? Math.max(1, Math.floor(cores / workers));
  return { workers, threads };
}
