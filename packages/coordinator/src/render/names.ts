import { createHash } from 'node:crypto';
import { BATCHSCORE_VERSION, outputLayout, planKey, runKeyOf, type ScoringJob } from '@batchscore/core';

/** Names and labels shared by every rendered object, so `kubectl get -l batchscore.dev/job=NAME` finds a run. */
export const LABEL = {
  job: 'batchscore.dev/job',
  date: 'batchscore.dev/date',
  modelVersion: 'batchscore.dev/model-version',
  backfill: 'batchscore.dev/backfill',
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  version: 'app.kubernetes.io/version',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/**
 * What an object is part of batchscore (app.kubernetes.io/component): the job's ConfigMap, its WorkflowTemplate, its
 * schedule, a run (a Workflow and its pods), the generic backfill template and what runs it.
 */
export type Component = 'job' | 'workflow-template' | 'schedule' | 'run' | 'backfill';

/**
 * Kubernetes' recommended labels. `instance` is the job's name (a backfill's: batchscore-backfill); the chart puts
 * its release there, and managed-by Helm, on what it installs.
 */
export function recommendedLabels(component: Component, instance: string): Record<string, string> {
  return {
    [LABEL.name]: 'batchscore',
    [LABEL.instance]: instance,
    [LABEL.version]: BATCHSCORE_VERSION,
    [LABEL.component]: component,
    [LABEL.partOf]: 'batchscore',
    [LABEL.managedBy]: 'batchscore',
  };
}

/**
 * The limits names are held to (job names are at most 52 characters, the parser's limit):
 * - a CronWorkflow's name: 52 (Argo's workflow/validate maxCharsInCronWorkflowName), since Argo names the Workflows
 *   it starts NAME-<unix time>, and a Workflow's name must fit in a label value;
 * - a label value: 63 (Kubernetes). Argo labels every pod with its Workflow's name
 *   (workflows.argoproj.io/workflow), and batchscore labels a backfill's children with their parent's name;
 * - a generateName: the API server appends 5 random characters, and cuts a longer one to 58 first.
 */
export const MAX_CRON_WORKFLOW_NAME = 52;
export const MAX_LABEL_VALUE = 63;
const MAX_GENERATE_NAME = MAX_LABEL_VALUE - 5;
const DATE_LENGTH = 'YYYY-MM-DD'.length;

/**
 * `name` when it has at most `max` characters, else its first characters (no trailing '-'), '-' and the first 5 hex
 * digits of its SHA-256: the same name every time, different names kept apart, and still readable. The chart
 * computes the same (batchscore.fitName in helm/batchscore/templates/_helpers.tpl).
 */
export function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 5);
  return `${name.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** The job's WorkflowTemplate: batchscore-NAME (at most 63 characters). */
export function templateName(job: Pick<ScoringJob, 'metadata'>): string {
  return templateNameOf(job.metadata.name);
}
export function templateNameOf(jobName: string): string {
  return `batchscore-${jobName}`;
}

/** The job's CronWorkflow: batchscore-NAME, shortened (fitName) past Argo's 52 characters. */
export function cronWorkflowName(job: Pick<ScoringJob, 'metadata'>): string {
  return fitName(templateNameOf(job.metadata.name), MAX_CRON_WORKFLOW_NAME);
}

/** A run's generateName, NAME-DATE-: the job's name shortened so that the date and the random suffix fit in 63. */
export function runGenerateName(job: Pick<ScoringJob, 'metadata'>, date: string): string {
  return `${fitName(job.metadata.name, MAX_GENERATE_NAME - DATE_LENGTH - 2)}-${date}-`;
}

/**
 * A backfill parent's generateName, batchscore-NAME-backfill- shortened so that its children, named PARENT-DATE,
 * fit in 63 characters: the parent's name is at most 63 - 11 = 52.
 */
export function backfillGenerateName(job: Pick<ScoringJob, 'metadata'>): string {
  const parentMax = MAX_LABEL_VALUE - DATE_LENGTH - 1;
  return `${fitName(`${templateNameOf(job.metadata.name)}-backfill`, parentMax - 5 - 1)}-`;
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

/**
 * The labels of a job's objects, runs and pods: the recommended ones, the job's name and model version (label
 * values: the spec parser holds both to Kubernetes' rules), and the job's own metadata.labels, which win.
 */
export function jobLabels(job: ScoringJob, component: Component): Record<string, string> {
  return {
    ...recommendedLabels(component, job.metadata.name),
    [LABEL.job]: job.metadata.name,
    [LABEL.modelVersion]: job.spec.model.version,
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
  return `${outputLayout(job).bookkeeping}${planKey(runKeyOf(job, dateExpr))}`;
}
