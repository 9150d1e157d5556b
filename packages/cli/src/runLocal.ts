import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPlan, writePlan } from '@batchscore/coordinator';
import { BatchscoreError, manifestKey, readJsonIfExists, type BatchManifest, type ErrorCode, type ScoringJob, type ShardPlan } from '@batchscore/core';
import { mergeRun, type MergeResult } from '@batchscore/merge';
import { loadModel } from '@batchscore/worker';
import { Progress } from './progress.js';
import { storeFactoryFor } from './storeFactory.js';

export type WorkerMessage =
  | { type: 'progress'; shard: number; rows: number }
  | { type: 'done'; shard: number; rows: number }
  | { type: 'error'; shard: number; code: ErrorCode; message: string; retryable: boolean };

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

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * plan → N worker processes (`batchscore score`, one per shard, as Argo runs them) → merge.
 * A run already complete for the same model is left alone unless `force`.
 */
export async function runLocal(job: ScoringJob, opts: RunLocalOptions): Promise<RunLocalResult> {
  const log = opts.log ?? (() => {});
  const open = storeFactoryFor(job);
  const plan = await createPlan(job, opts.date, open);
  const outputStore = open(job.spec.output.uri);
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const existing = await readJsonIfExists<BatchManifest>(outputStore, manifestKey(run));
  if (existing && !opts.force) {
    if (existing.run_id === plan.runId) {
      log(`${outputStore.uriOf(manifestKey(run))}: already complete (run ${plan.runId}); nothing to do (--force rescores)`);
      return { plan, planUri: '', manifest: existing, manifestUri: outputStore.uriOf(manifestKey(run)), alreadyComplete: true };
    }
    throw new BatchscoreError('RUN_CONFLICT', `${outputStore.uriOf(manifestKey(run))}: holds a complete run with another model (sha256 ${existing.model.sha256.slice(0, 12)}…); use --force to replace it`);
  }
  // Fail before fan-out when the job and model do not fit, instead of once per worker.
  (await loadModel(job, open, { expectSha256: plan.model.sha256, threads: 1 })).session.release();
  const planUri = await writePlan(outputStore, plan);
  const cores = availableParallelism();
  const workers = Math.max(1, Math.min(opts.workers ?? cores, plan.shards.length));
  const threads = job.spec.worker.threads ?? Math.max(1, Math.floor(cores / workers));
  log(`planned ${plan.shards.length} shard${plan.shards.length === 1 ? '' : 's'}${plan.totalRows !== null ? ` (${plan.totalRows.toLocaleString('en-US')} rows)` : ''} from ${plan.files.length} file${plan.files.length === 1 ? '' : 's'}; ${workers} worker${workers === 1 ? '' : 's'} × ${threads} thread${threads === 1 ? '' : 's'}`);
  await scoreAll(plan, planUri, workers, threads, opts.progress ?? false);
  const merged = await mergeRun(plan, open, { force: opts.force ?? false });
  return { ...merged, plan, planUri };
}

async function scoreAll(plan: ShardPlan, planUri: string, workers: number, threads: number, showProgress: boolean): Promise<void> {
  const progress = new Progress(plan.totalRows, plan.shards.length, process.stderr, showProgress && Boolean(process.stderr.isTTY));
  const rowsByShard = new Map<number, number>();
  const running = new Set<ChildProcess>();
  let next = 0;
  let done = 0;
  let failure: BatchscoreError | undefined;
  const total = () => [...rowsByShard.values()].reduce((a, b) => a + b, 0);

  const runOne = (shard: number) =>
    new Promise<void>((resolve) => {
      const child = fork(MAIN, ['score', '--plan', planUri, '--shard', String(shard), '--threads', String(threads)], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      running.add(child);
      let stderr = '';
      let reported: WorkerMessage | undefined;
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress' || m.type === 'done') {
          rowsByShard.set(shard, m.rows);
          progress.update(total(), done);
        } else reported = m;
      });
      child.on('exit', (code, signal) => {
        running.delete(child);
        if (code === 0) {
          done++;
          progress.update(total(), done);
        } else if (!failure) {
          failure =
            reported?.type === 'error'
              ? new BatchscoreError(reported.code, reported.message, { retryable: reported.retryable })
              : new BatchscoreError('INTERNAL', `worker for shard ${shard} exited with ${signal ?? code}: ${stderr.trim().split('\n').pop() ?? ''}`, { retryable: true });
          for (const c of running) c.kill('SIGTERM');
        }
        resolve();
      });
    });

  const lane = async () => {
    while (!failure && next < plan.shards.length) await runOne(next++);
  };
  await Promise.all(Array.from({ length: workers }, lane));
  progress.done();
  if (failure) throw failure;
}
