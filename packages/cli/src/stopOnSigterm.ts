import { BatchscoreError, DEFAULT_GRACE_SECONDS } from '@batchscore/core';

/** What is kept of the grace period for the process to exit once its work stopped (logs flushed, a parent told). */
const EXIT_MARGIN_S = 3;

const hooks = new Set<() => Promise<void>>();
const controller = new AbortController();
let stopping = false;
let graceSeconds = DEFAULT_GRACE_SECONDS;

/** Whether SIGTERM has arrived: failures that follow (a worker that was stopped) are its doing, not news. */
export function isStopping(): boolean {
  return stopping;
}

/** Aborted when SIGTERM arrives: work in progress stops at its next safe point (a shard commits the part so far). */
export function stopSignal(): AbortSignal {
  return controller.signal;
}

/**
 * How long SIGTERM leaves before SIGKILL (score --grace-period, from the pod's terminationGracePeriodSeconds): the
 * process exits a few seconds before it, whether or not its work has stopped by then.
 */
export function setGracePeriod(seconds: number): void {
  graceSeconds = seconds;
}

export function gracePeriod(): number {
  return graceSeconds;
}

/** Runs `stop` when SIGTERM arrives, before the process exits; returns the function that unregisters it. */
export function onStop(stop: () => Promise<void>): () => void {
  hooks.add(stop);
  return () => hooks.delete(stop);
}

/**
 * SIGTERM (what Kubernetes sends a pod before killing it: a spot reclaim, a drain, a deletion; or an operator) ends
 * the process with one line and the retryable exit code, as Argo's retryStrategy retries 75. Work stops first: a
 * score pod stops reading, scores the batch in flight and commits the part it holds, so a retry resumes right after
 * it; run --local stops its workers and waits for them (the registered hooks). Past the grace period less a margin
 * the process exits anyway (losing at most the part in flight, as a SIGKILL would). `report` prints the line and
 * returns the exit code.
 */
export function stopOnSigterm(report: (err: BatchscoreError) => number): void {
  process.once('SIGTERM', () => {
    stopping = true;
    const code = report(
      new BatchscoreError(
        'STOPPED',
        'stopped by SIGTERM; the parts already committed are kept, and a rerun resumes after them',
      ),
    );
    process.exitCode = code;
    controller.abort();
    const grace = setTimeout(() => process.exit(code), Math.max(1, graceSeconds - EXIT_MARGIN_S) * 1000);
    void Promise.allSettled([...hooks].map((h) => h())).then(() => {
      clearTimeout(grace);
      process.exit(code);
    });
  });
}
