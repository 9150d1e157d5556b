import { BatchscoreError, type ScoringJob } from '@batchscore/core';
import {
  BACKFILL_SERVICE_ACCOUNT,
  BACKFILL_TEMPLATE,
  LABEL,
  backfillGenerateName,
  recommendedLabels,
} from './names.js';
import type { Workflow, WorkflowTemplate } from './argoTypes.js';
import type { Role, RoleBinding, ServiceAccount } from './k8sTypes.js';
import { namespaceOf } from './renderWorkflow.js';

const API = 'argoproj.io/v1alpha1' as const;

/**
 * Most dates one backfill Workflow runs. Argo keeps ~3 nodes per date in the parent's status (the lane's step, the
 * resource pod, its retry node), ~650 bytes each: 400 dates stay well under the 1 MiB Argo allows a Workflow.
 */
export const MAX_BACKFILL_DATES = 400;

/**
 * The generic WorkflowTemplate `batchscore-backfill`: the dates of one job as child Workflows of the job's own
 * WorkflowTemplate (Argo's workflow-of-workflows pattern: a `resource` template creates each child and waits for
 * its phase). Given as arguments: `job` (the job's name), `dates` (a JSON list of YYYY-MM-DD), `parallel` (K) and
 * `skip-complete`. A template's `parallelism` is a number fixed when it is written, so K comes from K lanes:
 * lane L runs the dates whose index i has i mod K = L, one at a time (its parallelism is 1), and the lanes run
 * side by side, so at most K children run at once. A date that fails does not stop its lane (failFast: false);
 * the parent then ends Failed. Each child is owned by the parent (deleting the parent deletes its children) and
 * named after the parent and the date.
 * Under `templateReferencing: Strict` both the parent and its children reference installed templates and set
 * nothing but arguments.
 */
export function renderBackfillTemplate(opts: { namespace?: string } = {}): WorkflowTemplate {
  // Lane L's dates: those at the indexes i with i mod K = L. expr-lang (Argo v4.0.5: v1.17.7) has no #index in
  // filter, so the indexes are filtered and then mapped to their dates.
  const dates = 'fromJSON(workflow.parameters.dates)';
  const lanes =
    `{{=toJson(map(filter(0..(len(${dates}) - 1), {# % asInt(workflow.parameters.parallel) ` +
    `== asInt(inputs.parameters.lane)}), {${dates}[#]}))}}`;
  return {
    apiVersion: API,
    kind: 'WorkflowTemplate',
    metadata: {
      name: BACKFILL_TEMPLATE,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labels: recommendedLabels('backfill', BACKFILL_TEMPLATE),
    },
    spec: {
      entrypoint: 'main',
      serviceAccountName: BACKFILL_SERVICE_ACCOUNT,
      arguments: {
        parameters: [
          { name: 'job', description: "The job's metadata.name: its WorkflowTemplate batchscore-NAME runs each date" },
          { name: 'dates', description: 'The dates to run, a JSON list of YYYY-MM-DD, oldest first' },
          { name: 'parallel', value: '2', description: 'Most dates running at once' },
          {
            name: 'skip-complete',
            value: 'false',
            description: 'true: a date already published for this model is not run again',
          },
        ],
      },
      workflowMetadata: { labelsFrom: { [LABEL.job]: { expression: 'workflow.parameters.job' } } },
      // The parent waits on its children: days, for a long backfill. Its pods only create and watch.
      activeDeadlineSeconds: 30 * 24 * 3600,
      podGC: { strategy: 'OnPodSuccess' },
      ttlStrategy: { secondsAfterSuccess: 7 * 24 * 3600, secondsAfterFailure: 14 * 24 * 3600 },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      templates: [
        {
          name: 'main',
          steps: [
            [
              {
                name: 'lane',
                template: 'lane',
                withSequence: { count: '{{workflow.parameters.parallel}}' },
                arguments: { parameters: [{ name: 'lane', value: '{{item}}' }] },
              },
            ],
          ],
        },
        {
          name: 'lane',
          inputs: { parameters: [{ name: 'lane' }] },
          parallelism: 1,
          failFast: false,
          steps: [
            [
              {
                name: 'date',
                template: 'date',
                withParam: lanes,
                arguments: { parameters: [{ name: 'date', value: '{{item}}' }] },
              },
            ],
          ],
        },
        {
          name: 'date',
          inputs: { parameters: [{ name: 'date' }] },
          resource: {
            action: 'create',
            setOwnerReference: true,
            successCondition: 'status.phase == Succeeded',
            failureCondition: 'status.phase in (Failed, Error)',
            manifest: childManifest(),
          },
          // No retryStrategy: the child's own pods retry inside the child, and the executor already retries the
          // API server's transient errors while it waits. A child that ended Failed or Error would fail again.
        },
      ],
    },
  };
}

/** The child Workflow for one date, as the resource template's manifest (Argo substitutes its parameters). */
function childManifest(): string {
  return [
    'apiVersion: argoproj.io/v1alpha1',
    'kind: Workflow',
    'metadata:',
    "  name: '{{workflow.name}}-{{inputs.parameters.date}}'",
    '  labels:',
    `    ${LABEL.backfill}: '{{workflow.name}}'`,
    `    ${LABEL.job}: '{{workflow.parameters.job}}'`,
    `    ${LABEL.date}: '{{inputs.parameters.date}}'`,
    'spec:',
    "  workflowTemplateRef: {name: 'batchscore-{{workflow.parameters.job}}'}",
    '  arguments:',
    '    parameters:',
    "      - {name: date, value: '{{inputs.parameters.date}}'}",
    "      - {name: skip-complete, value: '{{workflow.parameters.skip-complete}}'}",
    '',
  ].join('\n');
}

/** The Workflow that backfills `dates` of `job` on the cluster, through the installed batchscore-backfill template. */
export function renderBackfillWorkflow(
  job: ScoringJob,
  dates: string[],
  opts: { parallel: number; skipComplete: boolean; namespace?: string; template?: string },
): Workflow {
  if (dates.length === 0) throw new BatchscoreError('USAGE', 'a backfill needs at least one date');
  if (dates.length > MAX_BACKFILL_DATES) {
    throw new BatchscoreError(
      'USAGE',
      `${dates.length} dates (${dates[0]} to ${dates.at(-1)}) is more than the ${MAX_BACKFILL_DATES} ` +
        `one backfill Workflow runs; split the range`,
    );
  }
  if (!Number.isSafeInteger(opts.parallel) || opts.parallel < 1)
    throw new BatchscoreError('USAGE', `--parallel ${opts.parallel}: expected an integer ≥ 1`);
  return {
    apiVersion: API,
    kind: 'Workflow',
    metadata: {
      generateName: backfillGenerateName(job),
      ...namespaceOf(job, opts),
      labels: { ...recommendedLabels('backfill', job.metadata.name), [LABEL.job]: job.metadata.name },
    },
    spec: {
      // The generic backfill template: batchscore-backfill, or another (a chart release's FULLNAME-backfill).
      workflowTemplateRef: { name: opts.template ?? BACKFILL_TEMPLATE },
      arguments: {
        parameters: [
          { name: 'job', value: job.metadata.name },
          { name: 'dates', value: JSON.stringify(dates) },
          // More lanes than dates would only add empty lanes.
          { name: 'parallel', value: String(Math.min(opts.parallel, dates.length)) },
          { name: 'skip-complete', value: String(opts.skipComplete) },
        ],
      },
    },
  };
}

/**
 * The backfill parent's identity: it creates and watches Workflows in its namespace (the resource template), and
 * reports its steps' results as every Argo executor does (workflowtaskresults). Nothing else: the children run
 * as the job's own ServiceAccount.
 */
export function renderBackfillRbac(opts: { namespace?: string } = {}): [ServiceAccount, Role, RoleBinding] {
  const ns = opts.namespace ? { namespace: opts.namespace } : {};
  const labels = recommendedLabels('backfill', BACKFILL_TEMPLATE);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: BACKFILL_SERVICE_ACCOUNT, ...ns, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: BACKFILL_SERVICE_ACCOUNT, ...ns, labels },
      rules: [
        { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['create', 'get', 'list', 'watch'] },
        { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: BACKFILL_SERVICE_ACCOUNT, ...ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: BACKFILL_SERVICE_ACCOUNT },
      // No namespace: a RoleBinding's ServiceAccount subject without one is the binding's own namespace.
      subjects: [{ kind: 'ServiceAccount', name: BACKFILL_SERVICE_ACCOUNT }],
    },
  ];
}
