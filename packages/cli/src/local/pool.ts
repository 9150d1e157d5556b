import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BatchscoreError, EXIT, type ShardPlan } from '@batchscore/core';
import { Progress } from '../progress.js';
import { gracePeriod, isStopping, onStop } from '../stopOnSigterm.js';
import { storageEnv } from '../storeFactory.js';
import { workerEnded, type FromWorker, type ToWorker } from './protocol.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/**
 * Workers start with room for 128 MB of old objects before V8's first full collection. With its default the heap
 * (~9 MB live) sat so close to its limit that V8 began marking again every batch or two: 74 full collections per
 * 10M rows scored, ~15% of a worker's CPU (7.1 s against 8.4 s on the mlp bench). Node refuses the flag in
 * NODE_OPTIONS, so bin/batchscore.js passes it on its #! line and the workers forked here get it too.
 */
export const OLD_SPACE_FLAG = '--initial-old-space-size=128';

/**
 * A shard whose worker was killed by a signal (SIGKILL from the OOM killer or an operator, say), or that failed
 * with a retryable error (storage, network: after the S3 client's own retries), is scored again, as Argo retries
 * a pod: the new attempt resumes after the shard's last committed part, so only the part in flight is scored again.
 * At most RESTARTS_PER_SHARD times (so a shard is tried at most 3 times), after RETRY_DELAY_MS, then twice that
 * (±50%); a shard that kills every worker (OOM) or meets a lasting outage then fails the run.
 */
const RESTARTS_PER_SHARD = 2;
const RETRY_DELAY_MS = 1_000;

const backoff = (n: number) => RETRY_DELAY_MS * 2 ** (n - 1) * (0.5 + Math.random());

export interface PoolOptions {
  workers: number;
  threads: number;
  device: string;
  progress: boolean;
  log: (line: string) => void;
}

/**
 * Long-lived worker processes (`batchscore score --serve`), each with one model session, take shards one at a time
 * until none are left. The first failure stops the hand-out; the workers are then told to exit. SIGTERM to this
 * process is passed on to the workers, which commit the part they hold and exit; this waits for them.
 */
export async function scoreAll(plan: ShardPlan, planUri: string, w: PoolOptions): Promise<void> {
  const { log } = w;
  const progress = new Progress(plan, process.stderr, w.progress && Boolean(process.stderr.isTTY));
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
        // A worker stops before this process gives up waiting for it.
        '--grace-period',
        String(Math.max(1, gracePeriod() - 2)),
      ];
      const child: ChildProcess = fork(MAIN, args, {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        execArgv: process.execArgv.some((a) => a.startsWith('--initial-old-space-size'))
          ? process.execArgv
          : [...process.execArgv, OLD_SPACE_FLAG],
        // The plan URI alone does not say which S3 endpoint holds it; the job does.
        env: { ...process.env, ...storageEnv(plan.job) },
      });
      live.set(child, new Promise<void>((r) => child.once('close', () => r())));
      let stderr = '';
      let current: number | undefined;
      let waiting: NodeJS.Timeout | undefined;
      let exiting: Extract<FromWorker, { type: 'exiting' }> | undefined;
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
        else if (m.type === 'exiting') exiting = m;
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
      // 'close', not 'exit': it comes after the IPC channel closed, so a worker's last message has arrived.
      child.on('close', (code, signal) => {
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
          failure = workerEnded({
            exiting,
            code,
            signal,
            what: current !== undefined ? `while scoring shard ${current}` : 'while starting',
            tries: lost ? ` (after ${RESTARTS_PER_SHARD} restarts)` : '',
            lastLine: stderr.trim().split('\n').pop() ?? '',
          });
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
