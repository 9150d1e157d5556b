import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPlan, writePlan } from '@batchscore/coordinator';
import { BatchscoreError, manifestKey, readJsonIfExists, type BatchManifest, type ScoringJob, type ShardPlan } from '@batchscore/core';
import { mergeRun, type MergeResult } from '@batchscore/merge';
import { calibrate, loadModel } from '@batchscore/worker';
import type { FromWorker, ToWorker } from './commands/score.js';
import { Progress } from './progress.js';
import { storageEnv, storeFactoryFor } from './storeFactory.js';

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
  // Fail before fan-out when the job and model do not fit, instead of once per worker; and resolve
  // device 'auto' here, so a missing CUDA is reported once rather than by every worker.
  const check = await loadModel(job, open, { expectSha256: plan.model.sha256, threads: 1, log: (l) => log(`warning: ${l}`), info: log });
  const device = check.executionProvider === 'cuda' ? 'cuda' : 'cpu';
  const layout = chooseLayout(job, plan, opts.workers, device === 'cpu' ? await calibrate(check) : undefined);
  await check.session.release();
  const planUri = await writePlan(outputStore, plan, { force: opts.force ?? false });
  const { workers, threads } = layout;
  log(`planned ${plan.shards.length} shard${plan.shards.length === 1 ? '' : 's'}${plan.totalRows !== null ? ` (${plan.totalRows.toLocaleString('en-US')} rows)` : ''} from ${plan.files.length} file${plan.files.length === 1 ? '' : 's'}; ${workers} worker${workers === 1 ? '' : 's'} × ${threads} thread${threads === 1 ? '' : 's'}`);
  await scoreAll(plan, planUri, { workers, threads, device, force: opts.force ?? false }, opts.progress ?? false, log);
  const merged = await mergeRun(plan, open, { force: opts.force ?? false });
  return { ...merged, plan, planUri };
}

/**
 * Long-lived worker processes (`batchscore score --serve`), each with one model session, take shards one at a time
 * until none are left. The first failure stops the hand-out; the workers are then told to exit.
 */
/** A model slower than this per thread is compute-bound: reading and writing are then a small share of the work. */
const COMPUTE_BOUND_ROWS_PER_S = 100_000;

/**
 * Worker processes × onnxruntime threads. Measured on this project's fixtures (2 cores): cheap models (mlp,
 * gbdt) run faster as one single-threaded process per core, since each process also reads and writes;
 * a heavy model (wide, ~30k rows/s per thread) runs faster as one process with a thread per core.
 * --workers and spec.worker.threads override the choice.
 */
function chooseLayout(job: ScoringJob, plan: ShardPlan, askedWorkers: number | undefined, rowsPerSPerThread: number | undefined) {
  const cores = availableParallelism();
  const heavy = rowsPerSPerThread !== undefined && rowsPerSPerThread < COMPUTE_BOUND_ROWS_PER_S;
  const wanted = askedWorkers ?? (heavy && !job.spec.worker.threads ? 1 : cores);
  const workers = Math.max(1, Math.min(wanted, plan.shards.length));
  const threads = job.spec.worker.threads ?? Math.max(1, Math.floor(cores / workers));
  return { workers, threads };
}

/**
 * A worker killed by a signal (SIGKILL from the OOM killer or an operator, say) has its shard scored again by a
 * fresh worker, as Argo retries a pod: a shard counts only once its commit record is written, so a half-scored
 * shard is simply redone under the same keys. Bounded, so a shard that kills every worker (OOM) fails the run.
 */
const RESTARTS_PER_SHARD = 2;

async function scoreAll(plan: ShardPlan, planUri: string, w: { workers: number; threads: number; device: string; force: boolean }, showProgress: boolean, log: (line: string) => void): Promise<void> {
  const progress = new Progress(plan.totalRows, plan.shards.length, process.stderr, showProgress && Boolean(process.stderr.isTTY));
  const rowsByShard = new Map<number, number>();
  let next = 0;
  let done = 0;
  let failure: BatchscoreError | undefined;
  const total = () => [...rowsByShard.values()].reduce((a, b) => a + b, 0);
  /** Shards whose worker was killed, to be handed out again before new ones. */
  const retry: number[] = [];
  /** Restarts so far by shard; -1 counts workers killed while holding none (starting up, or between shards). */
  const restarts = new Map<number, number>();

  const runWorker = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const args = ['score', '--serve', '--plan', planUri, '--threads', String(w.threads), '--device', w.device, ...(w.force ? ['--force'] : [])];
      const child: ChildProcess = fork(MAIN, args, {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        // The plan URI alone does not say which S3 endpoint holds it; the job does.
        env: { ...process.env, ...storageEnv(plan.job) },
      });
      let stderr = '';
      let current: number | undefined;
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      const send = (m: ToWorker) => child.connected && child.send(m);
      const handOut = () => {
        if (failure || (retry.length === 0 && next >= plan.shards.length)) {
          current = undefined;
          send({ type: 'exit' });
          return;
        }
        current = retry.length > 0 ? retry.shift()! : next++;
        send({ type: 'shard', shard: current });
      };
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') handOut();
        else if (m.type === 'progress') {
          rowsByShard.set(m.shard, m.rows);
          progress.update(total(), done);
        } else if (m.type === 'done') {
          rowsByShard.set(m.shard, m.rows);
          done++;
          progress.update(total(), done);
          handOut();
        } else if (m.type === 'error') {
          failure ??= new BatchscoreError(m.code, m.message, { retryable: m.retryable });
          handOut();
        }
      });
      child.on('exit', (code, signal) => {
        const workLeft = current !== undefined || retry.length > 0 || next < plan.shards.length;
        if (signal !== null && !failure && !workLeft) {
          resolve(); // killed on its way out, with nothing left to score: nothing is lost
          return;
        }
        if (signal !== null && !failure) {
          const key = current ?? -1;
          const n = (restarts.get(key) ?? 0) + 1;
          if (n <= RESTARTS_PER_SHARD) {
            restarts.set(key, n);
            if (current !== undefined) {
              rowsByShard.delete(current);
              retry.push(current);
            }
            const what = current !== undefined ? `while scoring shard ${current}` : 'while holding no shard';
            log(`warning: worker process ${child.pid} was killed by ${signal} ${what}; starting another (restart ${n} of ${RESTARTS_PER_SHARD})`);
            resolve(runWorker());
            return;
          }
        }
        if ((code !== 0 || current !== undefined) && !failure) {
          const last = stderr.trim().split('\n').pop() ?? '';
          const what = current !== undefined ? `while scoring shard ${current}` : 'while starting';
          const tries = signal !== null ? ` (after ${RESTARTS_PER_SHARD} restarts)` : '';
          // Killed by a signal (the OOM killer, preemption) is worth another try later; any other exit is a bug.
          failure = new BatchscoreError(signal !== null ? 'WORKER_LOST' : 'INTERNAL', `worker process exited with ${signal ?? code} ${what}${tries}: ${last}`);
          // The start-up error (a bad plan or model) is the worker's own, permanent one; keep its code.
          const m = /batchscore: error \[([A-Z_]+)\]: (.*)$/.exec(last) ?? jsonError(last);
          if (m) failure = new BatchscoreError(m[1] as BatchscoreError['code'], m[2]!);
        }
        resolve();
      });
    });

  await Promise.all(Array.from({ length: w.workers }, runWorker));
  progress.done();
  if (failure) throw failure;
  if (done !== plan.shards.length) throw new BatchscoreError('INTERNAL', `only ${done} of ${plan.shards.length} shards were scored`);
}

/** A JSON log line of an error (workers log JSON when the run does) as [line, code, message]. */
function jsonError(line: string): [string, string, string] | null {
  try {
    const o = JSON.parse(line) as { level?: string; code?: string; msg?: string };
    return o.level === 'error' && o.code && o.msg ? [line, o.code, o.msg] : null;
  } catch {
    return null;
  }
}
