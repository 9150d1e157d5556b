import { BatchscoreError, type ScoringJob } from '@batchscore/core';
import type { CronWorkflow, Workflow, WorkflowTemplate } from './argoTypes.js';
import type { ConfigMap } from './k8sTypes.js';
import {
  cronWorkflowName,
  JOB_KEY,
  jobConfigMapName,
  jobLabels,
  LABEL,
  runGenerateName,
  templateName,
} from './names.js';
import { renderWorkflowSpec, toJobJson, type RenderOptions } from './renderWorkflowSpec.js';

const API = 'argoproj.io/v1alpha1' as const;
const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

/**
 * A self-contained Workflow for one date (`submit --inline`, `render --kind workflow`): `kubectl create -f -` runs
 * it with nothing else installed. The job travels once, as the workflow parameter `job`, for the pods that read it.
 */
export function renderWorkflow(
  job: ScoringJob,
  date: string,
  opts: RenderOptions & { skipComplete?: boolean } = {},
): Workflow {
  checkRenderable(job);
  const spec = renderWorkflowSpec(job, { ...opts, jobSource: 'parameter' });
  return {
    apiVersion: API,
    kind: 'Workflow',
    metadata: runMetadata(job, date, opts),
    spec: {
      ...spec,
      arguments: {
        parameters: [
          { name: 'date', value: date },
          { name: 'skip-complete', value: String(opts.skipComplete ?? false) },
          { name: 'job', value: toJobJson(job) },
        ],
      },
    },
  };
}

/** A run's metadata: named after the job and date (the API server adds 5 characters), with their labels. */
function runMetadata(job: ScoringJob, date: string, opts: Pick<RenderOptions, 'namespace'>): Workflow['metadata'] {
  return {
    generateName: runGenerateName(job, date),
    ...namespaceOf(job, opts),
    labels: { ...jobLabels(job, 'run'), [LABEL.date]: date },
  };
}

/**
 * A Workflow that runs the installed WorkflowTemplate for one date: all it sets is the arguments (and labels), which
 * is all Argo's `templateReferencing: Strict` lets a referencing Workflow set.
 */
export function renderWorkflowFromTemplate(
  job: ScoringJob,
  date: string,
  opts: Pick<RenderOptions, 'namespace'> & { skipComplete?: boolean } = {},
): Workflow {
  return {
    apiVersion: API,
    kind: 'Workflow',
    metadata: runMetadata(job, date, opts),
    spec: {
      workflowTemplateRef: { name: templateName(job) },
      arguments: {
        parameters: [
          { name: 'date', value: date },
          ...(opts.skipComplete ? [{ name: 'skip-complete', value: 'true' }] : []),
        ],
      },
    },
  };
}

/**
 * The WorkflowTemplate: `argo submit --from workflowtemplate/NAME -p date=YYYY-MM-DD`. The date has no default.
 * Its pods read the job from the ConfigMap renderJobConfigMap makes: install both.
 */
export function renderWorkflowTemplate(job: ScoringJob, opts: RenderOptions = {}): WorkflowTemplate {
  checkRenderable(job);
  const spec = renderWorkflowSpec(job, { ...opts, jobSource: 'configMap' });
  return {
    apiVersion: API,
    kind: 'WorkflowTemplate',
    metadata: { name: templateName(job), ...namespaceOf(job, opts), labels: jobLabels(job, 'workflow-template') },
    spec: {
      ...spec,
      arguments: {
        parameters: [
          { name: 'date', description: 'The batch date to score, YYYY-MM-DD' },
          {
            name: 'skip-complete',
            value: 'false',
            description: 'true: do nothing when the date is already published for this model (version and sha256)',
          },
        ],
      },
      // Workflows made from the template carry the job, model version and date labels.
      workflowMetadata: {
        labels: jobLabels(job, 'run'),
        labelsFrom: { [LABEL.date]: { expression: 'workflow.parameters.date' } },
      },
    },
  };
}

/**
 * The ConfigMap holding the job as written (`text`, the job file's YAML): the one place the job lives on the
 * cluster. Pods mount it read-only; changing a column or threshold changes this object only.
 */
export function renderJobConfigMap(
  job: ScoringJob,
  text: string,
  opts: Pick<RenderOptions, 'namespace'> = {},
): ConfigMap {
  checkRenderable(job);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: jobConfigMapName(job), ...namespaceOf(job, opts), labels: jobLabels(job, 'job') },
    data: { [JOB_KEY]: text },
  };
}

/**
 * The nightly CronWorkflow: it refers to the WorkflowTemplate, and derives the date scored from the scheduled
 * time in the job's time zone (by default the day before).
 */
export function renderCronWorkflow(job: ScoringJob, opts: Pick<RenderOptions, 'namespace'> = {}): CronWorkflow {
  checkRenderable(job);
  const s = job.spec.cluster.schedule;
  if (!s)
    throw new BatchscoreError(
      'SPEC_INVALID',
      'spec.cluster.schedule: is required to render a CronWorkflow (crons, timezone)',
    );
  return {
    apiVersion: API,
    kind: 'CronWorkflow',
    metadata: {
      name: cronWorkflowName(job),
      ...namespaceOf(job, opts),
      labels: jobLabels(job, 'schedule'),
      // Argo CD applies it after the WorkflowTemplate (wave 0): Argo's cron controller refuses a CronWorkflow whose
      // template is not there yet and looks again only at its 20-minute resync (argo-workflows#12332).
      annotations: { [SYNC_WAVE]: '1' },
    },
    spec: {
      schedules: s.crons,
      timezone: s.timezone,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: s.startingDeadlineSeconds,
      successfulJobsHistoryLimit: s.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: s.failedJobsHistoryLimit,
      workflowMetadata: { labels: jobLabels(job, 'run') },
      workflowSpec: {
        workflowTemplateRef: { name: templateName(job) },
        arguments: { parameters: [{ name: 'date', value: scheduledDateExpression(s.timezone, s.dateOffsetDays) }] },
        // The template labels a Workflow with workflow.parameters.date, but Argo evaluates labelsFrom over the
        // parameters as given, before their {{= }} is expanded: the date label was the expression's text, an
        // invalid label, and every scheduled run ended in Error (seen on the v4.0.5 controller). A cron run's own
        // labelsFrom, which takes precedence over the template's, computes the same date from the scheduled time.
        workflowMetadata: { labelsFrom: { [LABEL.date]: { expression: scheduledDate(s.timezone, s.dateOffsetDays) } } },
      },
    },
  };
}

/**
 * metadata.namespace only when one was asked for (`--namespace`, else spec.cluster.namespace): without it the
 * object goes where kubectl/argo create it (`-n`, the context's namespace), as kubectl's own objects do.
 */
export function namespaceOf(job: ScoringJob, opts: Pick<RenderOptions, 'namespace'>): { namespace?: string } {
  const namespace = opts.namespace ?? job.spec.cluster.namespace;
  return namespace === undefined ? {} : { namespace };
}

/**
 * An Argo expression for the batch date: the scheduled time's calendar date in `timezone`, moved by `offsetDays`
 * calendar days. Subtracting 24 h from the scheduled time instead would skip or repeat a date on the days a
 * daylight-saving change makes 23 or 25 hours long (Europe/Berlin at 00:30 on 2024-04-01 gave 2024-03-30). So
 * the date is taken in the job's zone first, read back as midnight UTC (written out with its "Z": sprig.toDate
 * parses in the controller's time.Local, whatever TZ that is), moved by whole days in UTC, which has no
 * daylight saving, and formatted in UTC. sprig is Masterminds/sprig v3 (Argo v4.0.5: v3.3.0), where
 * dateInZone(fmt, time, zone), toDate(fmt, string) and dateModify(duration, time) take these arguments.
 */
export function scheduledDateExpression(timezone: string, offsetDays: number): string {
  return `{{=${scheduledDate(timezone, offsetDays)}}}`;
}

/** The same date as a bare Argo expression (for labelsFrom, which takes expressions without braces). */
export function scheduledDate(timezone: string, offsetDays: number): string {
  const day = "'2006-01-02'";
  const scheduled = "sprig.toDate('2006-01-02T15:04:05Z07:00', workflow.scheduledTime)";
  const localDate = `sprig.dateInZone(${day}, ${scheduled}, '${timezone}')`;
  if (offsetDays === 0) return localDate;
  const midnightUtc = `sprig.toDate('2006-01-02T15:04:05Z07:00', ${localDate} + 'T00:00:00Z')`;
  return `sprig.dateInZone(${day}, sprig.dateModify('${offsetDays * 24}h', ${midnightUtc}), 'UTC')`;
}

/** Everything that keeps a job from being rendered for a cluster, one line per problem. */
export function checkRenderable(job: ScoringJob): void {
  const problems = [...localUris(job), ...secretsInYaml(job)];
  if (problems.length > 0) throw new BatchscoreError('SPEC_INVALID', problems.join('\n'));
}

/** Pods cannot see this machine's disk: cluster runs need object-storage URIs. */
function localUris(job: ScoringJob): string[] {
  return (
    [
      ['spec.input.uri', job.spec.input.uri],
      ['spec.model.uri', job.spec.model.uri],
      ['spec.output.uri', job.spec.output.uri],
    ] as const
  )
    .filter(([, u]) => u.startsWith('file:'))
    .map(
      ([f, u]) =>
        `${f}: ${u} is a local path; pods cannot read this machine's disk, use an s3:// URI to render for a cluster`,
    );
}

/**
 * The job reaches every container's args as JSON, so the rendered YAML holds whatever it holds: anyone who can
 * read Workflows (or Git, for a committed template) would read a secret in it. A plain webhook URL is refused
 * whatever it looks like, since chat webhooks (Slack, Teams, Discord) carry their token in the path and no test
 * of its shape is safe; and any URL with user:password@. `run --local` renders nothing and may keep them.
 */
function secretsInYaml(job: ScoringJob): string[] {
  const out: string[] = [];
  if (job.spec.notify.webhook?.url !== undefined) {
    out.push(
      'spec.notify.webhook.url: a plain webhook URL would be copied into every pod of the ' +
        'rendered YAML, and chat webhooks carry their token in it; ' +
        'to render for a cluster use spec.notify.webhook.urlFromEnv with spec.cluster.webhookSecret ' +
        '(see manifests/webhook-secret.example.yaml)',
    );
  }
  const urls: [string, string | undefined][] = [
    ['spec.metrics.pushgateway', job.spec.metrics.pushgateway],
    ['spec.storage.s3.endpoint', job.spec.storage.s3.endpoint],
    ['spec.input.uri', job.spec.input.uri],
    ['spec.model.uri', job.spec.model.uri],
    ['spec.output.uri', job.spec.output.uri],
    ['spec.output.quarantineUri', job.spec.output.quarantineUri],
    ...Object.entries(job.spec.cluster.env).map(([k, v]): [string, string] => [`spec.cluster.env.${k}`, v]),
  ];
  for (const [field, url] of urls) {
    const shown = url === undefined ? undefined : redactUserinfo(url);
    if (shown === undefined || shown === url) continue;
    out.push(
      field === 'spec.metrics.pushgateway'
        ? `${field}: ${shown} has credentials in the URL, which would be copied into every pod of the rendered YAML; ` +
            'use a Pushgateway URL without them (an in-cluster Service, limited by a NetworkPolicy, ' +
            'or an authenticating proxy next to the Pushgateway)'
        : `${field}: ${shown} has credentials in the URL, which would be copied into the rendered ` +
            `YAML; remove them (S3 credentials go in spec.cluster.s3Secret)`,
    );
  }
  return out;
}

/** The URL with its user:password replaced by ***, or the URL itself when it has none (or is no URL). */
function redactUserinfo(u: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i.exec(u);
  return m ? `${m[1]}***@${u.slice(m[0].length)}` : u;
}
