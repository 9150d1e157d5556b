import {
  BACKFILL_TEMPLATE,
  modelIdentity,
  renderBackfillWorkflow,
  renderWorkflow,
  renderWorkflowFromTemplate,
  templateName,
} from '@batchscore/coordinator';
import { backfill, dateRange, submitWorkflow, workflowsApi } from '@batchscore/coordinator/kube';
import { BatchscoreError, isPublished, modelId, outputLayout, runKeyOf, storeConcurrency } from '@batchscore/core';
import { intArg, namespaceArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { loadJob } from '../loadJob.js';
import { lineLog, log } from '../log.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { printObjects } from '../printObjects.js';
import { storeFactoryFor } from '../storeFactory.js';
import { DRY_RUN_OPTION, dryRunArg } from '../dryRun.js';
import { describeStatus, followWorkflow } from '../followWorkflow.js';
import { KUBE_OPTIONS, kubeTarget } from '../kubeTarget.js';
import { jobTemplateHint, requireTemplate } from '../requireTemplate.js';

export const BACKFILL = defineCommand({
  name: 'backfill',
  summary: 'Runs a range of dates on the cluster: one Workflow whose children are the dates, or a loop from here.',
  usage: [
    'JOB.yaml --from YYYY-MM-DD --to YYYY-MM-DD [--parallel K] [--skip-complete] [--template NAME] [--watch] ' +
      '[--dry-run[=client|server]] [-o yaml|json|name] [-n NS] [--kubeconfig FILE] [--context CTX]',
    'JOB.yaml --from YYYY-MM-DD --to YYYY-MM-DD --client [--inline [--image IMG]] [--parallel K] [--skip-complete] ' +
      '[-n NS] [--kubeconfig FILE] [--context CTX]',
  ],
  description: `Creates one Workflow on the cluster that runs every date from --from to --to (oldest first, at most K at
once), each as a child Workflow of the job's installed WorkflowTemplate: the terminal may close. Needs the generic
batchscore-backfill WorkflowTemplate (the chart installs it; or \`batchscore render --kind backfill-template |
kubectl apply -f -\`; --template NAME: another, such as a chart release's FULLNAME-backfill). Prints the
Workflow's name; --watch follows it to its end (exit 0 when every date succeeded, 65 otherwise).
With --client the same loop runs here instead, one Workflow per date (from the installed template; --inline:
self-contained), while this command runs; it prints a line per date and exits 0 when every date succeeded or was
skipped, 65 otherwise.`,
  options: {
    from: { type: 'string', value: 'YYYY-MM-DD', help: 'The first date (required).' },
    to: {
      type: 'string',
      value: 'YYYY-MM-DD',
      help: 'The last date (required; on the cluster at most 400 dates a backfill).',
    },
    parallel: { type: 'string', value: 'K', help: 'Most dates running at once (default 2).' },
    'skip-complete': {
      type: 'boolean',
      help: 'A date already published for this model (version and sha256) does nothing (decided in the cluster).',
    },
    template: {
      type: 'string',
      value: 'NAME',
      help: "The backfill WorkflowTemplate (default batchscore-backfill; a chart release's is FULLNAME-backfill).",
    },
    watch: { type: 'boolean', help: 'Follow the backfill to its end; exit with its result.' },
    ...DRY_RUN_OPTION,
    ...outputOption(
      ['yaml', 'json', 'name'],
      'Print the Workflow created (or, with --dry-run, the one that would be) as YAML or JSON, or its ' +
        'workflow.argoproj.io/NAME. A --dry-run prints YAML without it.',
    ),
    client: { type: 'boolean', help: 'Run the loop here: one Workflow per date, a line per date.' },
    inline: { type: 'boolean', help: 'With --client: self-contained Workflows, for clusters without the template.' },
    image: { type: 'string', value: 'IMG', help: 'With --client --inline: the worker image.' },
    ...KUBE_OPTIONS,
  },
});

export async function backfillCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(BACKFILL, argv);
  if (!values.from || !values.to) throw new BatchscoreError('USAGE', '--from and --to are required');
  if (values.inline && !values.client)
    throw new BatchscoreError(
      'USAGE',
      '--inline applies to --client only: on the cluster, each date runs from the installed WorkflowTemplate',
    );
  if (values.image !== undefined && !values.inline)
    throw new BatchscoreError(
      'USAGE',
      '--image applies to --client --inline only: a Workflow from the installed WorkflowTemplate ' +
        'runs the image the template names',
    );
  if (values.client && values.template !== undefined)
    throw new BatchscoreError(
      'USAGE',
      '--template names the backfill template of a server-side backfill, not --client',
    );
  if (values.client && (values['dry-run'] !== undefined || values.output !== undefined || values.watch))
    throw new BatchscoreError(
      'USAGE',
      '--client runs the dates here and prints a line per date: --dry-run, -o and --watch ' +
        'apply to the server-side backfill',
    );
  const dates = dateRange(values.from, values.to);
  const parallel = intArg('parallel', values.parallel, 1) ?? 2;
  const skipComplete = values['skip-complete'] ?? false;
  const job = await loadJob({}, positionals);
  if (values.client) return clientBackfill(job, dates, parallel, skipComplete, values);

  const dryRun = dryRunArg(values['dry-run']);
  if (dryRun && values.watch)
    throw new BatchscoreError('USAGE', '--dry-run creates nothing, so there is nothing to --watch');
  const format = outputFormat(values.output, ['yaml', 'json', 'name']);
  if (dryRun === 'client') {
    const namespace = namespaceArg(values.namespace);
    printObjects(
      [
        renderBackfillWorkflow(job, dates, {
          parallel,
          skipComplete,
          ...(namespace ? { namespace } : {}),
          ...(values.template ? { template: values.template } : {}),
        }),
      ],
      format ?? 'yaml',
    );
    return;
  }
  const { kc, namespace } = kubeTarget(values, job.spec.cluster.namespace);
  const api = workflowsApi(kc);
  const template = values.template ?? BACKFILL_TEMPLATE;
  const wf = renderBackfillWorkflow(job, dates, { parallel, skipComplete, namespace, template });
  await Promise.all([
    requireTemplate(
      api,
      namespace,
      template,
      `the generic backfill template: install it with the chart (helm), or \`batchscore ` +
        `render --kind backfill-template | kubectl apply -n ${namespace} -f -\`; or run the ` +
        `dates from here with --client`,
    ),
    requireTemplate(api, namespace, templateName(job), `${jobTemplateHint(namespace)}, which each date runs`),
  ]);
  const created = await submitWorkflow(api, namespace, wf, { dryRun: dryRun === 'server' });
  if (dryRun === 'server') {
    log().info(`workflow ${created.name} in namespace ${namespace} passed the API server's checks (server dry run)`);
    printObjects([created.object], format ?? 'yaml');
    return;
  }
  log().info(
    `created workflow ${created.name} in namespace ${namespace} from workflowtemplate/${template}: ` +
      `${dates.length} dates of ${job.metadata.name}, at most ${Math.min(parallel, dates.length)} ` +
      `at once`,
  );
  if (format) printObjects([created.object], format);
  else process.stdout.write(`${created.name}\n`);
  if (values.watch) await followWorkflow(api, namespace, created.name);
}

/** The loop in this process (`--client`): one Workflow per date, at most `parallel` unfinished at once. */
async function clientBackfill(
  job: Awaited<ReturnType<typeof loadJob>>,
  dates: string[],
  parallel: number,
  skipComplete: boolean,
  values: { namespace?: string; kubeconfig?: string; context?: string; inline?: boolean; image?: string },
): Promise<void> {
  const { kc, namespace } = kubeTarget(values, job.spec.cluster.namespace);
  const api = workflowsApi(kc);
  if (!values.inline)
    await requireTemplate(
      api,
      namespace,
      templateName(job),
      `${jobTemplateHint(namespace)}, or run self-contained Workflows with --inline`,
    );
  const open = storeFactoryFor(job);
  let isComplete: ((date: string) => Promise<boolean>) | undefined;
  if (skipComplete) {
    const model = modelId(await modelIdentity(job, open));
    const records = open(outputLayout(job).records);
    const concurrency = storeConcurrency(job);
    isComplete = (date) => isPublished(records, open, runKeyOf(job, date), model, { concurrency });
  }
  const log = lineLog();
  const result = await backfill({
    api,
    namespace,
    dates,
    parallel,
    makeWorkflow: (date) =>
      values.inline
        ? renderWorkflow(job, date, { namespace, skipComplete, ...(values.image ? { image: values.image } : {}) })
        : renderWorkflowFromTemplate(job, date, { namespace, skipComplete }),
    ...(isComplete ? { isComplete } : {}),
    onEvent: (e) => {
      if (e.type === 'skipped') log(`${e.date}: complete for this model, skipped`);
      else if (e.type === 'submitted') log(`${e.date}: submitted ${e.name}`);
      else if (e.type === 'finished') log(`${e.date}: ${describeStatus(e.status)}`);
      else if (e.type === 'error') log(`${e.date}: ${e.error.message}`);
    },
  });
  for (const d of result.dates) process.stdout.write(`${d.date}\t${d.status}${d.name ? `\t${d.name}` : ''}\n`);
  log(`${result.succeeded} succeeded, ${result.failed} failed, ${result.skipped} skipped`);
  if (result.failed > 0)
    throw new BatchscoreError('WORKFLOW_FAILED', `${result.failed} of ${dates.length} dates failed`);
}
