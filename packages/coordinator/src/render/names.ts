import { planKey, type ScoringJob } from '@batchscore/core';

/** Names and labels shared by every rendered object, so `kubectl get -l batchscore.dev/job=NAME` finds a run. */
export const LABEL = {
  job: 'batchscore.dev/job',
  date: 'batchscore.dev/date',
  modelVersion: 'batchscore.dev/model-version',
  backfill: 'batchscore.dev/backfill',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** The job's WorkflowTemplate and CronWorkflow. */
export function templateName(job: Pick<ScoringJob, 'metadata'>): string {
  return templateNameOf(job.metadata.name);
}
export function templateNameOf(jobName: string): string {
  return `batchscore-${jobName}`;
}

/** The ConfigMap holding the job's YAML, which the plan, record-failure and notify pods mount. */
export function jobConfigMapName(job: Pick<ScoringJob, 'metadata'>): string {
  return `batchscore-job-${job.metadata.name}`;
}

/**
 * The generic WorkflowTemplate that runs a job's dates as child Workflows (`batchscore backfill`), and its identity.
 */
export const BACKFILL_TEMPLATE = 'batchscore-backfill';
export const BACKFILL_SERVICE_ACCOUNT = 'batchscore-backfill';

/** Where a pod finds the job's YAML: the ConfigMap's one key, mounted read-only. */
export const JOB_MOUNT = '/etc/batchscore/job';
export const JOB_KEY = 'job.yaml';
export const JOB_FILE = `${JOB_MOUNT}/${JOB_KEY}`;

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

/**
 * The run's plan URI for a date (or an Argo expression for one): the output folder's `_batchscore/D/V/plan.json`,
 * the key `batchscore plan` writes. Known when rendering, so score and merge pods are given only this.
 */
export function planUri(job: ScoringJob, dateExpr: string): string {
  return `${job.spec.output.uri}${planKey({ batchDate: dateExpr, modelVersion: job.spec.model.version })}`;
}
