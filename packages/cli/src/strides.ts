import { BatchscoreError, EXIT, exitCodeFor } from '@batchscore/core';
import { intArg } from './args.js';

/**
 * Pods ≠ shards. A Workflow's score step fans out over P = min(shards, spec.cluster.scorePods) pods, and pod i of
 * P scores the stride i, i+P, i+2P, … in turn: every shard exactly one pod's, each pod within one of the others'
 * shard counts (⌈N/P⌉ or ⌊N/P⌋). Fixed strides need nothing but the two numbers Argo already has, so a retried pod
 * scores the same shards again and, as committed shards are skipped, resumes where it stopped.
 */

/** How many score pods a plan of `shards` shards gets: one per shard, at most `maxPods` (none for no shards). */
export function podCount(shards: number, maxPods?: number): number {
  return maxPods === undefined ? shards : Math.min(shards, maxPods);
}

/** The shards pod `pod` of `pods` scores, in order, of a plan of `shards` shards. */
export function strideShards(pod: number, pods: number, shards: number): number[] {
  if (!Number.isSafeInteger(pods) || pods < 1 || !Number.isSafeInteger(pod) || pod < 0 || pod >= pods) {
    throw new RangeError(`pod ${pod} of ${pods}: expected 0 ≤ pod < pods`);
  }
  const out: number[] = [];
  for (let s = pod; s < shards; s += pods) out.push(s);
  return out;
}

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
