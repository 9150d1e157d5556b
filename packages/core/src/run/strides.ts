/**
 * Pods ≠ shards. A Workflow's score step fans out over P = min(shards, spec.cluster.scorePods) pods, and pod i of
 * P scores the stride i, i+P, i+2P, … in turn: every shard exactly one pod's, each pod within one of the others'
 * shard counts (⌈N/P⌉ or ⌊N/P⌋). Fixed strides need nothing but the two numbers Argo already has, so a retried pod
 * scores the same shards again and, as committed shards are skipped and a shard resumes after its last committed
 * part, goes on where it stopped.
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
