import type { ScoringJob } from '@batchscore/core';

/** Names and labels shared by every rendered object, so `kubectl get -l batchscore.dev/job=NAME` finds a run. */
export const LABEL = {
  job: 'batchscore.dev/job',
  date: 'batchscore.dev/date',
  modelVersion: 'batchscore.dev/model-version',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

export function templateName(job: ScoringJob): string {
  return `batchscore-${job.metadata.name}`;
}

/** Label values allow [A-Za-z0-9._-]; a model version already does (the spec parser checks). */
export function jobLabels(job: ScoringJob): Record<string, string> {
  return {
    [LABEL.job]: job.metadata.name,
    [LABEL.modelVersion]: job.spec.model.version,
    [LABEL.managedBy]: 'batchscore',
    ...job.metadata.labels,
  };
}

/** The mutex that keeps two runs of one job and date apart, across every Workflow in the namespace. */
export function mutexName(job: ScoringJob, dateExpr: string): string {
  return `batchscore-${job.metadata.name}-${dateExpr}`;
}
