import { BatchscoreError, EXIT, exitCodeFor, type ErrorCode } from '@batchscore/core';

/**
 * Messages between `run --local` (the pool) and its worker processes (`batchscore score --serve`), over the fork IPC
 * channel. The parent hands out one shard at a time; the worker answers with progress and the shard's outcome, and,
 * when the process itself ends on an error (a bad plan or model at start-up, SIGTERM), with that outcome: the exit
 * class and error code travel here, never through a worker's stderr.
 */
export type ToWorker = { type: 'shard'; shard: number } | { type: 'exit' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; shard: number; rows: number }
  | { type: 'done'; shard: number; rows: number }
  | { type: 'error'; shard: number; code: ErrorCode; message: string; retryable: boolean }
  | { type: 'exiting'; code: ErrorCode; message: string; exitCode: number };

/** The outcome of a worker process that ends on `err`, as its parent is told it. */
export function exitingMessage(err: unknown): Extract<FromWorker, { type: 'exiting' }> {
  const e = err instanceof BatchscoreError ? err : undefined;
  return {
    type: 'exiting',
    code: e?.code ?? 'INTERNAL',
    message: e?.message ?? String((err as Error)?.message ?? err),
    exitCode: exitCodeFor(err),
  };
}

/**
 * Tells the parent, when there is one (this process is a worker of run --local), how this process ends; resolves once
 * the message is sent (at once without a parent).
 */
export function tellParent(err: unknown): Promise<void> {
  if (!process.send || !process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!(exitingMessage(err), () => resolve()));
}

/**
 * tellParent, then closes the channel: a worker is kept alive by its IPC channel, so the process then exits and the
 * parent hears of it.
 */
export function tellParentAndDisconnect(err: unknown): void {
  void tellParent(err).then(() => {
    if (process.connected) process.disconnect();
  });
}

/** The error a worker's end means to the run: its own outcome when it sent one, else how the process ended. */
export function workerEnded(o: {
  exiting: Extract<FromWorker, { type: 'exiting' }> | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  what: string;
  tries: string;
  /** The last line it printed: context for a process that ended without a word. */
  lastLine: string;
}): BatchscoreError {
  if (o.exiting) {
    return new BatchscoreError(o.exiting.code, o.exiting.message + o.tries, {
      retryable: o.exiting.exitCode === EXIT.RETRYABLE,
    });
  }
  const lost = o.signal !== null || o.code === EXIT.RETRYABLE;
  // Lost (the OOM killer, preemption) is worth another try later; any other silent exit is a bug.
  return new BatchscoreError(
    lost ? 'WORKER_LOST' : 'INTERNAL',
    `worker process exited with ${o.signal ?? o.code} ${o.what}${o.tries}${o.lastLine ? `: ${o.lastLine}` : ''}`,
  );
}
