import { BatchscoreError, type ScoringJob } from '@batchscore/core';
import { jobLabels, LABEL, templateName } from './names.js';
import { renderWorkflowSpec, type RenderOptions } from './renderWorkflowSpec.js';

type Obj = Record<string, unknown>;
const API = 'argoproj.io/v1alpha1';

/** A standalone Workflow for one date: `kubectl create -f -` or `argo submit -` runs it with nothing else installed. */
export function renderWorkflow(job: ScoringJob, date: string, opts: RenderOptions = {}): Obj {
  checkClusterUris(job);
  const spec = renderWorkflowSpec(job, opts);
  return {
    apiVersion: API,
    kind: 'Workflow',
    metadata: {
      generateName: `${job.metadata.name}-${date}-`,
      namespace: job.spec.cluster.namespace,
      labels: { ...jobLabels(job), [LABEL.date]: date },
    },
    spec: { ...spec, arguments: { parameters: [{ name: 'date', value: date }] } },
  };
}

/** The WorkflowTemplate: `argo submit --from workflowtemplate/NAME -p date=YYYY-MM-DD`. The date has no default. */
export function renderWorkflowTemplate(job: ScoringJob, opts: RenderOptions = {}): Obj {
  checkClusterUris(job);
  const spec = renderWorkflowSpec(job, opts);
  return {
    apiVersion: API,
    kind: 'WorkflowTemplate',
    metadata: { name: templateName(job), namespace: job.spec.cluster.namespace, labels: jobLabels(job) },
    spec: {
      ...spec,
      arguments: { parameters: [{ name: 'date', description: 'The batch date to score, YYYY-MM-DD' }] },
      // Workflows made from the template carry the job, model version and date labels.
      workflowMetadata: { labels: jobLabels(job), labelsFrom: { [LABEL.date]: { expression: 'workflow.parameters.date' } } },
    },
  };
}

/**
 * The nightly CronWorkflow: it refers to the WorkflowTemplate, and derives the date scored from the scheduled
 * time in the job's time zone (by default the day before).
 */
export function renderCronWorkflow(job: ScoringJob): Obj {
  checkClusterUris(job);
  const s = job.spec.cluster.schedule;
  if (!s) throw new BatchscoreError('SPEC_INVALID', 'spec.cluster.schedule: is required to render a CronWorkflow (crons, timezone)');
  return {
    apiVersion: API,
    kind: 'CronWorkflow',
    metadata: { name: templateName(job), namespace: job.spec.cluster.namespace, labels: jobLabels(job) },
    spec: {
      schedules: s.crons,
      timezone: s.timezone,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: s.startingDeadlineSeconds,
      successfulJobsHistoryLimit: s.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: s.failedJobsHistoryLimit,
      workflowMetadata: { labels: jobLabels(job) },
      workflowSpec: {
        workflowTemplateRef: { name: templateName(job) },
        arguments: { parameters: [{ name: 'date', value: scheduledDateExpression(s.timezone, s.dateOffsetDays) }] },
      },
    },
  };
}

/**
 * An Argo expression for the batch date: the scheduled time (RFC 3339, set on CronWorkflow runs) moved by
 * `offsetDays` × 24 h, formatted as a calendar date in `timezone`.
 */
export function scheduledDateExpression(timezone: string, offsetDays: number): string {
  const t = "sprig.toDate('2006-01-02T15:04:05Z07:00', workflow.scheduledTime)";
  const moved = offsetDays === 0 ? t : `sprig.dateModify('${offsetDays * 24}h', ${t})`;
  return `{{=sprig.dateInZone('2006-01-02', ${moved}, '${timezone}')}}`;
}

/** Pods cannot see this machine's disk: cluster runs need object-storage URIs. */
function checkClusterUris(job: ScoringJob): void {
  const local = (
    [
      ['spec.input.uri', job.spec.input.uri],
      ['spec.model.uri', job.spec.model.uri],
      ['spec.output.uri', job.spec.output.uri],
    ] as const
  ).filter(([, u]) => u.startsWith('file:'));
  if (local.length > 0) {
    throw new BatchscoreError(
      'SPEC_INVALID',
      local.map(([f, u]) => `${f}: ${u} is a local path; pods cannot read this machine's disk, use an s3:// URI to render for a cluster`).join('\n'),
    );
  }
}
