/**
 * Every failure batchscore reports is a BatchscoreError with one of these codes, each named for what failed.
 * `retryable` is the code's usual answer to "can trying again help?", which decides the exit code (75 or 65) and so
 * whether Argo's retryStrategy tries the pod again; 'either' codes say it at each throw. docs/cli.md's table of error
 * codes is generated from this one.
 */
export const ERROR_CODES = {
  SPEC_INVALID: { retryable: false, meaning: 'the job file is malformed or breaks a rule' },
  USAGE: { retryable: false, meaning: 'bad command-line arguments (exit 64)' },
  INPUT_NOT_FOUND: { retryable: false, meaning: 'no input files, or a file the plan names is gone' },
  INPUT_INVALID: {
    retryable: false,
    meaning: 'an input file is unreadable, not of its format, or lacks or mistypes a column; schemas differ',
  },
  INPUT_CHANGED: {
    retryable: false,
    meaning: 'an input file changed since planning (another ETag or modification time); rerunning the job plans anew',
  },
  MODEL_INVALID: { retryable: false, meaning: 'the model cannot load, or the job names inputs or outputs it lacks' },
  STORE_NOT_FOUND: { retryable: false, meaning: 'an object store key, bucket or path does not exist' },
  STORE_DENIED: { retryable: false, meaning: 'the object store refused access (403 and friends)' },
  STORE_TRANSIENT: { retryable: true, meaning: 'the object store failed for now: 5xx, throttling, resets, timeouts' },
  RUN_INCOMPLETE: {
    retryable: false,
    meaning: 'not complete yet: shards have not all committed, or the date is not published (exit 66)',
  },
  RUN_INVALID: {
    retryable: false,
    meaning: "a run's records disagree: rows do not add up, or a committed part is gone",
  },
  RUN_CONFLICT: { retryable: false, meaning: 'another run holds or already published the same output' },
  WORKER_LOST: {
    retryable: true,
    meaning: 'a local worker process was killed (OOM killer) more often than it is restarted',
  },
  QUALITY_DRIFT: { retryable: false, meaning: 'predictions drifted from the baseline and failOnDrift is set' },
  KUBE_NOT_FOUND: {
    retryable: false,
    meaning: 'the Kubernetes API found no such object or namespace, or the Argo CRDs are not installed',
  },
  KUBE_DENIED: {
    retryable: false,
    meaning: 'the Kubernetes API refused the credentials or the RBAC (401, 403), or TLS',
  },
  KUBE_CONFLICT: { retryable: false, meaning: 'a Kubernetes object of that name already exists (409)' },
  KUBE_REJECTED: { retryable: false, meaning: 'the Kubernetes API rejected the request or the object (400, 422, …)' },
  KUBE_UNAVAILABLE: {
    retryable: true,
    meaning: 'the Kubernetes API failed for now: 5xx, 429, no answer in time, a watch it keeps closing',
  },
  NOT_INSTALLED: { retryable: false, meaning: 'a WorkflowTemplate the command references is not installed' },
  WORKFLOW_FAILED: { retryable: false, meaning: 'a Workflow (or a backfill date) ended Failed, or was deleted' },
  WORKFLOW_ERROR: { retryable: true, meaning: 'a Workflow ended Error: Argo or the cluster failed it' },
  WEBHOOK_FAILED: {
    retryable: 'either',
    meaning: 'spec.notify.webhook refused the notification (65) or kept failing (75)',
  },
  STOPPED: { retryable: true, meaning: 'stopped by SIGTERM (Kubernetes stopping a pod); a rerun resumes' },
  INTERNAL: { retryable: false, meaning: 'a bug in batchscore (exit 70)' },
} as const satisfies Record<string, { retryable: boolean | 'either'; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class BatchscoreError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BatchscoreError';
    this.code = code;
    this.retryable = opts.retryable ?? ERROR_CODES[code].retryable === true;
  }
}

/** Exit codes follow sysexits(3) so they mean something outside batchscore too. */
export const EXIT = {
  OK: 0,
  USAGE: 64, // EX_USAGE: bad arguments
  PERMANENT: 65, // EX_DATAERR: spec, model or data is wrong; a retry gives the same answer
  // EX_NOINPUT: what was asked for is not there yet (merge before every shard committed, inspect of an unpublished
  // date). Nothing failed: a script polling for a run tells "not yet" from "broken" (65) and "failed for now" (75).
  // Argo's retryStrategy does not retry it: a merge pod runs only after every score pod succeeded.
  NOT_COMPLETE: 66,
  INTERNAL: 70, // EX_SOFTWARE: a bug
  RETRYABLE: 75, // EX_TEMPFAIL: try again later
} as const;

/** What each exit code means and whether to try again: batchscore --help, and the README's table, generated. */
export const EXIT_CODES: readonly { code: number; meaning: string; retry: 'yes' | 'no' | 'later' | '' }[] = [
  { code: EXIT.OK, meaning: 'success', retry: '' },
  { code: EXIT.USAGE, meaning: 'usage error (bad arguments)', retry: 'no' },
  {
    code: EXIT.PERMANENT,
    meaning:
      'permanent failure: job spec, model or data is wrong (including a partition value whose folder name passes ' +
      '255 bytes, an S3 key over 1024 bytes, a YAML alias bomb), or a Workflow failed',
    retry: 'no',
  },
  {
    code: EXIT.NOT_COMPLETE,
    meaning:
      'not complete yet: merge before every shard has committed, inspect of a date not published; nothing ' + 'failed',
    retry: 'later',
  },
  { code: EXIT.INTERNAL, meaning: 'internal error (a bug in batchscore)', retry: 'no' },
  {
    code: EXIT.RETRYABLE,
    meaning:
      'retryable failure: storage, network or Kubernetes API trouble (5xx, throttling, resets, timeouts, a host ' +
      'name that does not resolve), a full disk (ENOSPC, EDQUOT), stopped by SIGTERM, or a local worker killed ' +
      'by a signal (OOM killer) more often than it is restarted',
    retry: 'yes',
  },
];

export function exitCodeFor(err: unknown): number {
  if (err instanceof BatchscoreError) {
    if (err.code === 'USAGE') return EXIT.USAGE;
    if (err.code === 'INTERNAL') return EXIT.INTERNAL;
    if (err.code === 'RUN_INCOMPLETE') return EXIT.NOT_COMPLETE;
    return err.retryable ? EXIT.RETRYABLE : EXIT.PERMANENT;
  }
  return EXIT.INTERNAL;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
