import { BatchscoreError } from '@batchscore/core';

/** How long stopping may take (a parent waiting for its workers) before the process exits anyway. */
const STOP_GRACE_MS = 10_000;

const hooks = new Set<() => Promise<void>>();
let stopping = false;

/** Whether SIGTERM has arrived: failures that follow (a worker that was stopped) are its doing, not news. */
export function isStopping(): boolean {
  return stopping;
}

/** Runs `stop` when SIGTERM arrives, before the process exits; returns the function that unregisters it. */
export function onStop(stop: () => Promise<void>): () => void {
  hooks.add(stop);
  return () => hooks.delete(stop);
}

/**
 * SIGTERM (what Kubernetes sends a pod before killing it, or an operator) ends the process with one line and the
 * retryable exit code: Argo's retryStrategy retries 75 only, and nothing is lost: a shard counts once its commit
 * record is written, and the manifest is written last, so a rerun resumes. The registered hooks run first
 * (run --local stops its workers); `report` prints the line and returns the exit code.
 */
export function stopOnSigterm(report: (err: BatchscoreError) => number): void {
  process.once('SIGTERM', () => {
    stopping = true;
    const code = report(
      new BatchscoreError(
        'STOPPED',
        'stopped by SIGTERM; shards already committed are kept, and a rerun resumes from them',
      ),
    );
    process.exitCode = code;
    const grace = setTimeout(() => process.exit(code), STOP_GRACE_MS);
    void Promise.allSettled([...hooks].map((h) => h())).then(() => {
      clearTimeout(grace);
      process.exit(code);
    });
  });
}
