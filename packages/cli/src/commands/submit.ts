import { renderWorkflow, renderWorkflowFromTemplate, templateName } from '@batchscore/coordinator';
import { submitWorkflow, workflowsApi } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';
import { dateArg, namespaceArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { DRY_RUN_OPTION, dryRunArg } from '../dryRun.js';
import { followWorkflow } from '../followWorkflow.js';
import { KUBE_OPTIONS, kubeTarget } from '../kubeTarget.js';
import { loadJob } from '../loadJob.js';
import { log } from '../log.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { printObjects } from '../printObjects.js';
import { jobTemplateHint, requireTemplate } from '../requireTemplate.js';

export const SUBMIT = defineCommand({
  name: 'submit',
  summary: "Creates a Workflow for one date from the job's installed WorkflowTemplate.",
  usage: [
    'JOB.yaml --date YYYY-MM-DD [--skip-complete] [--inline [--image IMG]] [--watch] [--dry-run[=client|server]] ' +
      '[-o yaml|json|name] [-n NS] [--kubeconfig FILE] [--context CTX]',
  ],
  description: `Creates a Workflow for one date from the job's installed WorkflowTemplate (batchscore-NAME: helm
install, or \`batchscore render JOB.yaml | kubectl apply -f -\`), setting only its arguments, as Argo's
templateReferencing: Strict requires; it refuses, saying how to install it, when the template is not there.
Prints the Workflow's name. With --watch it follows the run's phase and shard progress to the end; the exit code
is then the run's result (0 Succeeded, 65 Failed, 75 Error).`,
  options: {
    date: { type: 'string', value: 'YYYY-MM-DD', help: "The run's date (required)." },
    'skip-complete': {
      type: 'boolean',
      help: 'The run does nothing when the date is already published for this model (version and sha256).',
    },
    inline: {
      type: 'boolean',
      help: 'A self-contained Workflow instead, for clusters without the template (the job is its parameter).',
    },
    image: { type: 'string', value: 'IMG', help: 'The worker image of an --inline Workflow.' },
    watch: { type: 'boolean', help: 'Follow the run to its end; exit with its result.' },
    ...DRY_RUN_OPTION,
    ...outputOption(
      ['yaml', 'json', 'name'],
      'Print the Workflow created (or, with --dry-run, the one that would be) as YAML or JSON, or its ' +
        'workflow.argoproj.io/NAME. A --dry-run prints YAML without it.',
    ),
    ...KUBE_OPTIONS,
  },
});

export async function submitCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(SUBMIT, argv);
  if (values.date === undefined) throw new BatchscoreError('USAGE', '--date is required');
  if (values.image !== undefined && !values.inline)
    throw new BatchscoreError(
      'USAGE',
      '--image applies to --inline only: a Workflow from the installed WorkflowTemplate ' +
        'runs the image the template names',
    );
  const dryRun = dryRunArg(values['dry-run']);
  if (dryRun && values.watch)
    throw new BatchscoreError('USAGE', '--dry-run creates nothing, so there is nothing to --watch');
  const format = outputFormat(values.output, ['yaml', 'json', 'name']);
  const date = dateArg(values.date);
  const job = await loadJob({}, positionals);
  const skipComplete = values['skip-complete'] ?? false;
  const make = (namespace?: string) => {
    const ns = namespace ? { namespace } : {};
    if (!values.inline) return renderWorkflowFromTemplate(job, date, { ...ns, skipComplete });
    return renderWorkflow(job, date, { ...ns, skipComplete, ...(values.image ? { image: values.image } : {}) });
  };
  if (dryRun === 'client') {
    printObjects([make(namespaceArg(values.namespace))], format ?? 'yaml');
    return;
  }
  const { kc, namespace } = kubeTarget(values, job.spec.cluster.namespace);
  const api = workflowsApi(kc);
  if (!values.inline)
    await requireTemplate(
      api,
      namespace,
      templateName(job),
      `${jobTemplateHint(namespace)}, or submit a self-contained Workflow with --inline`,
    );
  const created = await submitWorkflow(api, namespace, make(namespace), { dryRun: dryRun === 'server' });
  if (dryRun === 'server') {
    log().info(`workflow ${created.name} in namespace ${namespace} passed the API server's checks (server dry run)`);
    printObjects([created.object], format ?? 'yaml');
    return;
  }
  log().info(
    `created workflow ${created.name} in namespace ${namespace}` +
      (values.inline ? ' (self-contained, --inline)' : ` from workflowtemplate/${templateName(job)}`),
  );
  if (format) printObjects([created.object], format);
  else process.stdout.write(`${created.name}\n`);
  if (!values.watch) return;
  await followWorkflow(api, namespace, created.name);
}
