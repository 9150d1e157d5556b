import { BatchscoreError, EXIT, exitCodeFor } from '@batchscore/core';
import { intArg } from './args.js';

/** What `score` was asked to do: one shard (`--shard I`), or a stride (`--pod I --pods P`). */
export type ScoreTarget = { shard: number } | { pod: number; pods: number };

/** `--shard I`, or `--pod I --pods P` with 0 ≤ I < P; anything else is a usage error (exit 64). */
export function scoreTarget(values: {
  shard?: string | undefined;
  pod?: string | undefined;
  pods?: string | undefined;
}): ScoreTarget {
  const shard = intArg('shard', values.shard, 0);
  const pod = intArg('pod', values.pod, 0);
  const pods = intArg('pods', values.pods, 1);
  if (shard !== undefined && (pod !== undefined || pods !== undefined)) {
    throw new BatchscoreError(
      'USAGE',
      '--shard scores one shard and --pod/--pods a stride of them; give one or the other, not both',
    );
  }
  if (shard !== undefined) return { shard };
  if (pod === undefined && pods === undefined)
    throw new BatchscoreError('USAGE', '--shard I, or --pod I with --pods P, is required');
  if (pod === undefined)
    throw new BatchscoreError(
      'USAGE',
      `--pods ${pods} needs --pod I (which of the ${pods} pods this is, 0-${pods! - 1})`,
    );
  if (pods === undefined)
    throw new BatchscoreError('USAGE', `--pod ${pod} needs --pods P (how many pods share the shards)`);
  if (pod >= pods)
    throw new BatchscoreError(
      'USAGE',
      `--pod ${pod}: expected less than --pods (${pods}): pods are numbered 0-${pods - 1}`,
    );
  return { pod, pods };
}

/**
 * The exit code of a stride whose shards failed with `errors`: 65 when any failed permanently (a retry gives the
 * same answer, and the Workflow fails anyway), else another code Argo does not retry (70, a bug; 64), else 75, so
 * that Argo's retryStrategy retries the pod, which then rescores only what did not commit.
 */
export function worstExitCode(errors: unknown[]): number {
  const codes = errors.map(exitCodeFor);
  if (codes.includes(EXIT.PERMANENT)) return EXIT.PERMANENT;
  const other = codes.find((c) => c !== EXIT.RETRYABLE && c !== EXIT.OK);
  if (other !== undefined) return other;
  return codes.length ? EXIT.RETRYABLE : EXIT.OK;
}
