/**
 * Backfill: one Argo Workflow per date, submitted in date order, at most `parallel` of them unfinished at once.
 */
import { BatchscoreError, errorMessage, isValidDate } from '@batchscore/core';
import type { KubeObject, WorkflowsApi } from './kubeClient.js';
import { submitWorkflow } from './submitWorkflow.js';
import { watchWorkflow, type WatchWorkflowOptions, type WorkflowStatus } from './watchWorkflow.js';

export type BackfillEvent =
  | { type: 'skipped'; date: string }
  | { type: 'submitted'; date: string; name: string }
  | { type: 'progress'; date: string; name: string; status: WorkflowStatus }
  | { type: 'finished'; date: string; name: string; status: WorkflowStatus }
  /** The date could not be checked, built, submitted or followed; `name` is set when it was submitted. */
  | { type: 'error'; date: string; name?: string; error: BatchscoreError };

export interface BackfillDateResult {
  date: string;
  /**
   * 'failed' covers a workflow that ended Failed or Error and a date that never got that far (isComplete,
   * makeWorkflow or the submit threw, or the workflow could not be followed to its end): `error` says which,
   * and `phase`, when set, is the last phase seen (a workflow batchscore lost track of may still be running).
   */
  status: 'skipped' | 'succeeded' | 'failed';
  /** The workflow's name, once submitted. */
  name?: string;
  phase?: string;
  error?: string;
  errorCode?: string;
}

export interface BackfillResult {
  /** One entry per date, in the order given. */
  dates: BackfillDateResult[];
  succeeded: number;
  failed: number;
  skipped: number;
}

export interface BackfillOptions {
  api: WorkflowsApi;
  namespace: string;
  dates: string[];
  /** Most workflows unfinished at once (≥ 1). */
  parallel: number;
  makeWorkflow: (date: string) => KubeObject;
  /** True when the date's output is already committed: it is then not submitted. */
  isComplete?: (date: string) => Promise<boolean>;
  onEvent?: (e: BackfillEvent) => void;
  /**
   * How often to get each running workflow besides watching it (watchWorkflow's safety net), default 60 s.
   * A slot frees as soon as the watch or a poll sees its workflow Succeeded, Failed or Error.
   */
  pollMs?: number;
  /** Passed on to watchWorkflow for each date (timeoutMs, retries...). */
  watch?: Omit<WatchWorkflowOptions, 'pollMs'>;
}

export async function backfill(opts: BackfillOptions): Promise<BackfillResult> {
  const { api, namespace, dates, parallel } = opts;
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new BatchscoreError('USAGE', `parallel must be a whole number ≥ 1, got ${parallel}`);
  }
  const bad = dates.filter((d) => !isValidDate(d));
  if (bad.length > 0) throw new BatchscoreError('USAGE', `not a date (YYYY-MM-DD): ${bad.join(', ')}`);

  const emit = (e: BackfillEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      // A listener's bug must not lose track of workflows already running.
    }
  };
  const results: BackfillDateResult[] = dates.map((date) => ({ date, status: 'failed' }));
  const running = new Set<Promise<void>>();

  const fail = (r: BackfillDateResult, err: unknown) => {
    const e =
      err instanceof BatchscoreError
        ? err
        : new BatchscoreError('INTERNAL', `${r.date}: ${errorMessage(err)}`, { cause: err });
    r.status = 'failed';
    r.error = e.message;
    r.errorCode = e.code;
    emit({ type: 'error', date: r.date, ...(r.name === undefined ? {} : { name: r.name }), error: e });
  };

  for (let i = 0; i < dates.length; i++) {
    const date = dates[i]!;
    const r = results[i]!;
    if (opts.isComplete) {
      let complete: boolean;
      try {
        complete = await opts.isComplete(date);
      } catch (err) {
        fail(r, err);
        continue;
      }
      if (complete) {
        r.status = 'skipped';
        emit({ type: 'skipped', date });
        continue;
      }
    }
    while (running.size >= parallel) await Promise.race(running);

    let name: string;
    try {
      const wf = opts.makeWorkflow(date);
      name = (await submitWorkflow(api, namespace, wf)).name;
    } catch (err) {
      fail(r, err);
      continue;
    }
    r.name = name;
    r.phase = 'Pending';
    emit({ type: 'submitted', date, name });

    const tracked: Promise<void> = watchWorkflow(
      api,
      namespace,
      name,
      (status) => {
        r.phase = status.phase;
        emit({ type: 'progress', date, name, status });
      },
      { ...opts.watch, pollMs: opts.pollMs ?? 60_000 },
    )
      .then(
        (status) => {
          r.phase = status.phase;
          if (status.phase === 'Succeeded') {
            r.status = 'succeeded';
          } else {
            r.status = 'failed';
            r.error = `workflow ${name} ended ${status.phase}${status.message ? `: ${status.message}` : ''}`;
            r.errorCode = 'WORKFLOW_FAILED';
          }
          emit({ type: 'finished', date, name, status });
        },
        (err: unknown) => fail(r, err),
      )
      .finally(() => running.delete(tracked));
    running.add(tracked);
  }
  await Promise.all(running);

  const count = (s: BackfillDateResult['status']) => results.filter((r) => r.status === s).length;
  return { dates: results, succeeded: count('succeeded'), failed: count('failed'), skipped: count('skipped') };
}

/** Every UTC calendar day from `from` to `to`, both included, as YYYY-MM-DD. */
export function dateRange(from: string, to: string): string[] {
  for (const [what, d] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!isValidDate(d)) throw new BatchscoreError('USAGE', `${what} date "${d}" is not a valid YYYY-MM-DD date`);
  }
  if (from > to) throw new BatchscoreError('USAGE', `from date ${from} is after to date ${to}`);
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}
