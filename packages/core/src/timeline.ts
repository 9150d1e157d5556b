import { appendFileSync } from 'node:fs';

/**
 * Where a run's time goes, for `npm run bench`: with BATCHSCORE_TIMELINE=FILE set, each process (`run --local` and
 * the workers it forks, which inherit the variable) appends one JSON line per step, `{"pid", "step", "ms", ...}`
 * with `ms` since the epoch, so steps of several processes line up. Unset (the default), mark() does nothing.
 * A few lines per shard, appended synchronously: nothing is buffered and lost when a process exits.
 */
export function mark(
  step: string,
  fields: Record<string, unknown> = {},
  ms = performance.timeOrigin + performance.now(),
): void {
  const file = process.env.BATCHSCORE_TIMELINE;
  if (!file) return;
  appendFileSync(file, JSON.stringify({ pid: process.pid, step, ms: Math.round(ms * 10) / 10, ...fields }) + '\n');
}

/** Marks the process's start (its time origin, before any module loaded) and its exit. */
export function markProcess(role: string): void {
  if (!process.env.BATCHSCORE_TIMELINE) return;
  mark('process start', { role }, performance.timeOrigin);
  mark('modules loaded', { role });
  process.once('exit', () => mark('exit', { role }));
}
