import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPlan, writePlan } from '@batchscore/coordinator';
import {
  BatchscoreError,
  EXIT,
  manifestKey,
  mark,
  readJsonIfExists,
  type BatchManifest,
  type ScoringJob,
  type ShardPlan,
} from '@batchscore/core';
import { mergeRun, type MergeResult } from '@batchscore/merge';
import { calibrate, checkColumnKinds, loadModel } from '@batchscore/worker';
import type { FromWorker, ToWorker } from './commands/score.js';
import { Progress } from './progress.js';
import { isStopping, onStop } from './stopOnSigterm.js';
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
 * Workers start with room for 128 MB of old objects before V8's first full collection. With its default the heap
 * (~9 MB live) sat so close to its limit that V8 began marking again every batch or two: 74 full collections per
 * 10M rows scored, ~15% of a worker's CPU (7.1 s against 8.4 s on the mlp bench). Node refuses the flag in
 * NODE_OPTIONS, so bin/batchscore.js passes it on its #! line and the workers forked here get it too.
 */
export const OLD_SPACE_FLAG = '--initial-old-space-size=128';

/**
 * plan → N worker processes (`batchscore score`, one per shard, as Argo runs them) → merge.
 * A run already complete for the same model is left alone unless `force`.
 */
export async function runLocal(job: ScoringJob, opts: RunLocalOptions): Promise<RunLocalResult> {
  const log = opts.log ?? (() => {});
  const open = storeFactoryFor(job);
  const plan = await createPlan(job, opts.date, open);
  mark('planned', { shards: plan.shards.length });
  const outputStore = open(job.spec.output.uri);
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const existing = await readJsonIfExists<BatchManifest>(outputStore, manifestKey(run));
  if (existing && !opts.force) {
    if (existing.run_id === plan.runId) {
      log(
        `${outputStore.uriOf(manifestKey(run))}: already complete (run ${plan.runId}); nothing ` +
          `to do (--force rescores)`,
      );
      return {
        plan,
        planUri: '',
        manifest: existing,
        manifestUri: outputStore.uriOf(manifestKey(run)),
        alreadyComplete: true,
      };
    }
    throw new BatchscoreError(
      'RUN_CONFLICT',
      `${outputStore.uriOf(manifestKey(run))}: holds a complete run with another model ` +
        `(sha256 ${existing.model.sha256.slice(0, 12)}…); use --force to replace it`,
    );
  }
  // Fail before fan-out when the job and model do not fit, instead of once per worker; and resolve
  // device 'auto' here, so a missing CUDA is reported once rather than by every worker.
  const check = await loadModel(job, open, {
    expectSha256: plan.model.sha256,
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
  const planUri = await writePlan(outputStore, plan, { force: opts.force ?? false });
  mark('plan written');
  const { workers, threads } = layout;
  log(
    `planned ${plan.shards.length} shard${plan.shards.length === 1 ? '' : 's'}` +
      `${plan.totalRows !== null ? ` (${plan.totalRows.toLocaleString('en-US')} rows)` : ''} ` +
      `from ${plan.files.length} file${plan.files.length === 1 ? '' : 's'}; ` +
      `${workers} worker${workers === 1 ? '' : 's'} × ${threads} thread${threads === 1 ? '' : 's'}`,
  );
  await scoreAll(plan, planUri, { workers, threads, device, force: opts.force ?? false }, opts.progress ?? false, log);
  mark('scored');
  const merged = await mergeRun(plan, open, { force: opts.force ?? false });
  mark('merged');
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

/**
 * A shard whose worker was killed by a signal (SIGKILL from the OOM killer or an operator, say), or that failed
 * with a retryable error (storage, network: after the S3 client's own retries), is scored again, as Argo retries
 * a pod: a shard counts only once its commit record is written, so a half-scored shard is simply redone under the
 * same keys. At most RESTARTS_PER_SHARD times (so a shard is tried at most 3 times), after RETRY_DELAY_MS, then
 * twice that (±50%); a shard that kills every worker (OOM) or meets a lasting outage then fails the run.
 */
const RESTARTS_PER_SHARD = 2;
const RETRY_DELAY_MS = 1_000;

const backoff = (n: number) => RETRY_DELAY_MS * 2 ** (n - 1) * (0.5 + Math.random());

async function scoreAll(
  plan: ShardPlan,
  planUri: string,
  w: { workers: number; threads: number; device: string; force: boolean },
  showProgress: boolean,
  log: (line: string) => void,
): Promise<void> {
  const progress = new Progress(plan, process.stderr, showProgress && Boolean(process.stderr.isTTY));
  const rowsByShard = new Map<number, number>();
  const doneShards = new Set<number>();
  let next = 0;
  let failure: BatchscoreError | undefined;
  /** Shards whose worker was killed, to be handed out again before new ones. */
  const retry: number[] = [];
  /** Restarts so far by shard; -1 counts workers lost while holding none (starting up, or between shards). */
  const restarts = new Map<number, number>();
  /** Another try for `key` if the budget allows: the number of this restart, or undefined when it is spent. */
  const restart = (key: number): number | undefined => {
    const n = (restarts.get(key) ?? 0) + 1;
    if (n > RESTARTS_PER_SHARD) return undefined;
    restarts.set(key, n);
    return n;
  };
  const live = new Map<ChildProcess, Promise<void>>();
  // SIGTERM to run --local (the kubelet, an operator) stops its workers too, and waits for them to exit.
  const off = onStop(async () => {
    for (const child of live.keys()) child.kill('SIGTERM');
    await Promise.all(live.values());
  });

  const runWorker = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const args = [
        'score',
        '--serve',
        '--plan',
        planUri,
        '--threads',
        String(w.threads),
        '--device',
        w.device,
        ...(w.force ? ['--force'] : []),
      ];
      const child: ChildProcess = fork(MAIN, args, {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        execArgv: process.execArgv.some((a) => a.startsWith('--initial-old-space-size'))
          ? process.execArgv
          : [...process.execArgv, OLD_SPACE_FLAG],
        // The plan URI alone does not say which S3 endpoint holds it; the job does.
        env: { ...process.env, ...storageEnv(plan.job) },
      });
      live.set(child, new Promise<void>((r) => child.once('exit', () => r())));
      let stderr = '';
      let current: number | undefined;
      let waiting: NodeJS.Timeout | undefined;
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      const send = (m: ToWorker) => child.connected && child.send(m);
      const handOut = () => {
        if (failure || isStopping() || (retry.length === 0 && next >= plan.shards.length)) {
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
          progress.update(rowsByShard, doneShards);
        } else if (m.type === 'done') {
          rowsByShard.set(m.shard, m.rows);
          doneShards.add(m.shard);
          progress.update(rowsByShard, doneShards);
          handOut();
        } else if (m.type === 'error') {
          const n = m.retryable && !failure && !isStopping() ? restart(m.shard) : undefined;
          if (n !== undefined) {
            // This worker keeps the shard and scores it again after the delay; the others go on with theirs.
            rowsByShard.delete(m.shard);
            const delay = backoff(n);
            log(
              `warning: shard ${m.shard}: ${m.message.split('\n')[0]}; handing it out again in ` +
                `${(delay / 1000).toFixed(1)}s (retry ${n} of ${RESTARTS_PER_SHARD})`,
            );
            waiting = setTimeout(() => {
              waiting = undefined;
              if (failure || isStopping()) handOut();
              else send({ type: 'shard', shard: m.shard });
            }, delay);
            return;
          }
          const tries = m.retryable && restarts.has(m.shard) ? ` (after ${RESTARTS_PER_SHARD} retries)` : '';
          failure ??= new BatchscoreError(m.code, m.message + tries, { retryable: m.retryable });
          handOut();
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(waiting);
        live.delete(child);
        const workLeft = current !== undefined || retry.length > 0 || next < plan.shards.length;
        if (isStopping()) {
          failure ??= new BatchscoreError('STOPPED', 'stopped by SIGTERM');
          resolve();
          return;
        }
        // Killed by a signal, or exited as retryable (75: a start-up read that failed for good, a SIGTERM of its own).
        const lost = signal !== null || code === EXIT.RETRYABLE;
        if (lost && !failure && !workLeft) {
          resolve(); // lost on its way out, with nothing left to score: nothing is lost
          return;
        }
        if (lost && !failure) {
          const n = restart(current ?? -1);
          if (n !== undefined) {
            if (current !== undefined) {
              rowsByShard.delete(current);
              retry.push(current);
            }
            const what = current !== undefined ? `while scoring shard ${current}` : 'while holding no shard';
            const how = signal !== null ? `was killed by ${signal}` : `exited with ${code}`;
            log(
              `warning: worker process ${child.pid} ${how} ${what}; starting another (restart ${n} ` +
                `of ${RESTARTS_PER_SHARD})`,
            );
            const delay = signal !== null ? 0 : backoff(n);
            setTimeout(() => resolve(runWorker()), delay);
            return;
          }
        }
        if ((code !== 0 || current !== undefined) && !failure) {
          const last = stderr.trim().split('\n').pop() ?? '';
          const what = current !== undefined ? `while scoring shard ${current}` : 'while starting';
          const tries = lost ? ` (after ${RESTARTS_PER_SHARD} restarts)` : '';
          // Lost (the OOM killer, preemption) is worth another try later; any other exit is a bug.
          failure = new BatchscoreError(
            lost ? 'WORKER_LOST' : 'INTERNAL',
            `worker process exited with ${signal ?? code} ${what}${tries}: ${last}`,
          );
          // The start-up error (a bad plan or model) is the worker's own; keep its code.
          const m = /batchscore: error \[([A-Z_]+)\]: (.*)$/.exec(last) ?? jsonError(last);
          if (m) failure = new BatchscoreError(m[1] as BatchscoreError['code'], m[2]! + tries);
        }
        resolve();
      });
    });

  try {
    await Promise.all(Array.from({ length: w.workers }, runWorker));
  } finally {
    off();
  }
  progress.done();
  if (failure) throw failure;
  if (doneShards.size !== plan.shards.length)
    throw new BatchscoreError('INTERNAL', `only ${doneShards.size} of ${plan.shards.length} shards were scored`);
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
