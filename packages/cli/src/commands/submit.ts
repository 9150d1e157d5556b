import { renderWorkflow, renderWorkflowFromTemplate, templateName } from '@batchscore/coordinator';
import {
  kubeNamespace,
  loadKubeConfig,
  resolveNamespace,
  submitWorkflow,
  watchWorkflow,
  workflowsApi,
  type WorkflowsApi,
  type WorkflowStatus,
} from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';
import { choiceArg, dateArg, namespaceArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { loadJob } from '../loadJob.js';
import { log } from '../log.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { printObjects } from '../printObjects.js';

/** The options every command that talks to the cluster takes, as kubectl spells them. */
export const KUBE_OPTIONS = {
  namespace: {
    type: 'string',
    short: 'n',
    value: 'NS',
    help: "The namespace (default: spec.cluster.namespace, else the kubeconfig context's, else default).",
  },
  kubeconfig: { type: 'string', value: 'FILE', help: 'The kubeconfig (default: KUBECONFIG, else ~/.kube/config).' },
  context: { type: 'string', value: 'CTX', help: 'A context of the kubeconfig (default: its current-context).' },
} as const;

/** `--dry-run[=client|server]`, as kubectl: client prints the object, server has the API server check it too. */
export const DRY_RUN_OPTION = {
  'dry-run': {
    type: 'string',
    value: 'client|server|none',
    bare: 'client',
    help:
      'Create nothing. client (the default of a bare --dry-run): print the object; server: send it to the API ' +
      'server, which validates it without persisting, and print what it returned. none: create it.',
  },
} as const;

export type DryRun = 'client' | 'server' | undefined;

/** The --dry-run mode, or undefined for none (create). */
export function dryRunArg(v: string | undefined): DryRun {
  const mode = choiceArg('--dry-run', v, ['client', 'server', 'none'] as const);
  return mode === 'none' ? undefined : mode;
}

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
  await follow(api, namespace, created.name);
}

/** What a missing job template is, and how to install it. */
export function jobTemplateHint(namespace: string): string {
  return (
    `the job's WorkflowTemplate: install the job (\`helm upgrade --install\` with it ` +
    `under jobs:, or \`batchscore render JOB.yaml | kubectl apply -n ${namespace} -f ` +
    `-\`)`
  );
}

/** Refuses (exit 65) when the namespace has no WorkflowTemplate `name`, saying what to install. */
export async function requireTemplate(api: WorkflowsApi, namespace: string, name: string, what: string): Promise<void> {
  if ((await api.getTemplate(namespace, name)) !== null) return;
  throw new BatchscoreError(
    'NOT_INSTALLED',
    `workflowtemplate/${name} is not installed in namespace "${namespace}"; it is ${what}`,
  );
}

/** Follows a Workflow to its end; throws unless it Succeeded (65 Failed, 75 Error). */
export async function follow(api: WorkflowsApi, namespace: string, name: string): Promise<void> {
  const final = await watchWorkflow(api, namespace, name, (s) => log().info(describe(s)));
  if (final.phase !== 'Succeeded') {
    // Failed: a step failed for good (65); Error: Argo or the cluster failed it (75: submitting again may pass).
    throw new BatchscoreError(
      final.phase === 'Error' ? 'WORKFLOW_ERROR' : 'WORKFLOW_FAILED',
      `workflow ${name} ended ${final.phase}${final.message ? `: ${final.message}` : ''}`,
    );
  }
}

/** The kubeconfig (--kubeconfig, --context) and the namespace to use in it (see resolveNamespace). */
export function kubeTarget(
  values: { namespace?: string | undefined; kubeconfig?: string | undefined; context?: string | undefined },
  jobNamespace: string | undefined,
): { kc: ReturnType<typeof loadKubeConfig>; namespace: string } {
  const kc = loadKubeConfig({
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
  });
  const { namespace } = resolveNamespace({
    flag: namespaceArg(values.namespace),
    job: jobNamespace,
    context: kubeNamespace(kc),
  });
  return { kc, namespace };
}

export function describe(s: WorkflowStatus): string {
  const shards =
    s.shardsTotal !== null
      ? ` shards ${s.shardsDone}/${s.shardsTotal}`
      : s.shardsDone > 0
        ? ` shards ${s.shardsDone}`
        : '';
  const where = s.scoreNodes.length > 0 ? ` on ${s.scoreNodes.join(', ')}` : '';
  return `${s.name} ${s.phase}${shards}${where}${s.message ? ` (${s.message})` : ''}`;
}
