/**
 * Yields `open(item)` for each item in order while opening the next ones ahead: at most `count` opened and not yet
 * yielded, and no new one started while those hold `bytes` or more (the first always starts). A shard over 1,000
 * small S3 files read one file at a time was 1,000 round trips end to end; read ahead, they overlap. Results the
 * consumer never took (it stopped early, or an open failed) are passed to `release`.
 */
export async function* readAhead<T, R>(
  items: readonly T[],
  open: (item: T) => Promise<R>,
  o: { count: number; bytes: number; sizeOf: (item: T) => number; release: (r: R) => void | Promise<void> },
): AsyncGenerator<R> {
  const queue: { p: Promise<R>; size: number }[] = [];
  let held = 0;
  let next = 0;
  const fill = () => {
    while (next < items.length && queue.length < o.count && (queue.length === 0 || held < o.bytes)) {
      const item = items[next++]!;
      const p = open(item);
      // Awaited in order below; until then a rejection must not count as unhandled.
      p.catch(() => {});
      const size = o.sizeOf(item);
      queue.push({ p, size });
      held += size;
    }
  };
  try {
    while (true) {
      fill();
      const head = queue.shift();
      if (!head) return;
      held -= head.size;
      yield await head.p;
    }
  } finally {
    for (const { p } of queue.splice(0)) {
      try {
        await o.release(await p);
      } catch {
        // It failed to open, or to release: nothing of it is held.
      }
    }
  }
}
