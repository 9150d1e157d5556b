/**
 * Every failure batchscore reports is a BatchscoreError. `retryable` decides the exit code, and so whether
 * Argo's retryStrategy tries the pod again: a flaky network is worth a retry, a bad job spec never is.
 */
export type ErrorCode =
  | 'SPEC_INVALID' // the job file is malformed or breaks a rule
  | 'USAGE' // bad command-line arguments
  | 'INPUT_NOT_FOUND' // no input files, or a file the plan names is gone
  | 'INPUT_INVALID' // unreadable, non-Parquet, missing/ill-typed columns, schema mismatch
  | 'MODEL_INVALID' // model cannot load, or the spec names inputs/outputs it does not have
  | 'STORE_NOT_FOUND' // a key, bucket or path does not exist
  | 'STORE_DENIED' // 403 and friends: retrying will not help
  | 'STORE_TRANSIENT' // 5xx, throttling, resets, timeouts
  | 'RUN_INCOMPLETE' // merge found missing shards or a count mismatch
  | 'RUN_CONFLICT' // another run holds or already committed the same output
  | 'WORKER_LOST' // a worker process was killed (OOM killer, preemption) more often than it is restarted
  | 'QUALITY_DRIFT' // predictions drifted from the baseline run and spec.quality.failOnDrift is set
  | 'NOT_INSTALLED' // a WorkflowTemplate the command references is not installed in the namespace
  | 'STOPPED' // SIGTERM (Kubernetes stopping a pod, an operator): retryable, a rerun resumes
  | 'INTERNAL';

export class BatchscoreError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BatchscoreError';
    this.code = code;
    this.retryable = opts.retryable ?? (code === 'STORE_TRANSIENT' || code === 'WORKER_LOST' || code === 'STOPPED');
  }
}

/** Exit codes follow sysexits(3) so they mean something outside batchscore too. */
export const EXIT = {
  OK: 0,
  USAGE: 64,
  PERMANENT: 65, // EX_DATAERR: spec, model or data is wrong; a retry gives the same answer
  INTERNAL: 70, // EX_SOFTWARE: a bug
  RETRYABLE: 75, // EX_TEMPFAIL: try again later
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof BatchscoreError) {
    if (err.code === 'USAGE') return EXIT.USAGE;
    if (err.code === 'INTERNAL') return EXIT.INTERNAL;
    return err.retryable ? EXIT.RETRYABLE : EXIT.PERMANENT;
  }
  return EXIT.INTERNAL;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
