/**
 * Runs `fn` over `items` with at most `limit` calls in flight (footer reads, ranged GETs, merge's moves). After the
 * first failure no new item is started, and that failure is what it throws once the calls in flight have ended.
 */
export async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
  if (failure) throw failure.err;
}
