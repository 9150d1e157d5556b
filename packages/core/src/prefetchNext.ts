/**
 * Yields what `source` yields, asking it for the next value as soon as the current one is handed out, so the
 * source's waits (a file read for the next batch) overlap the consumer's work on this one instead of leaving the
 * process idle between them. At most one value is held ahead. When the consumer stops early, the source is closed
 * once its pending step settles.
 */
export async function* prefetchNext<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let pending = it.next();
  // Awaited below; until then a rejection must not count as unhandled.
  pending.catch(() => {});
  let finished = false;
  try {
    while (true) {
      const step = await pending;
      if (step.done) {
        finished = true;
        return;
      }
      pending = it.next();
      pending.catch(() => {});
      yield step.value;
    }
  } catch (err) {
    finished = true;
    throw err;
  } finally {
    if (!finished)
      await pending.then(
        () => it.return?.(),
        () => undefined,
      );
  }
}
