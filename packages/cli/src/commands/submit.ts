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
import { dateArg, namespaceArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';
import { log } from '../log.js';
import { OUTPUT_OPTION, outputFormat } from '../outputFormat.js';
import { printObjects } from '../printObjects.js';

export const SUBMIT_HELP = `batchscore submit JOB.yaml --date YYYY-MM-DD [--skip-complete] [--inline [--image IMG]] [--watch] [--dry-run] [-o yaml|json] [-n NS] [--kubeconfig FILE] [--context CTX]
  Creates a Workflow for one date from the job's installed WorkflowTemplate (batchscore-NAME: helm install, or
  \`batchscore render JOB.yaml | kubectl apply -f -\`), setting only its arguments, as Argo's
  templateReferencing: Strict requires; it refuses, saying how to install it, when the template is not there.
  --inline creates a self-contained Workflow instead, for clusters without the template. Prints the Workflow's
  name, or with -o the object created; --dry-run prints the Workflow (yaml by default) and creates nothing.
  --skip-complete: the run does nothing when the date is already published for this model (version, sha256).
  With --watch it follows the run's phase and shard progress to the end; the exit code is then the run's result
  (0 Succeeded, 65 Failed, 75 Error). The namespace, as kubectl picks it: -n/--namespace, else
  spec.cluster.namespace, else the kubeconfig context's namespace, else default.`;

export const KUBE_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
} as const;

export async function submitCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...KUBE_OPTIONS,
      ...OUTPUT_OPTION,
      image: { type: 'string' },
      date: { type: 'string' },
      watch: { type: 'boolean' },
      inline: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'skip-complete': { type: 'boolean' },
    },
  });
  if (values.date === undefined) throw new BatchscoreError('USAGE', `--date is required\n${SUBMIT_HELP}`);
  if (values.image !== undefined && !values.inline)
    throw new BatchscoreError(
      'USAGE',
      '--image applies to --inline only: a Workflow from the installed WorkflowTemplate ' +
        'runs the image the template names',
    );
  if (values['dry-run'] && values.watch)
    throw new BatchscoreError('USAGE', '--dry-run creates nothing, so there is nothing to --watch');
  const format = values.output === undefined ? undefined : outputFormat(values.output, 'yaml');
  const date = dateArg(values.date);
  const job = await loadJob({}, positionals);
  const skipComplete = values['skip-complete'] ?? false;
  const make = (namespace?: string) => {
    const ns = namespace ? { namespace } : {};
    if (!values.inline) return renderWorkflowFromTemplate(job, date, { ...ns, skipComplete });
    return renderWorkflow(job, date, { ...ns, skipComplete, ...(values.image ? { image: values.image } : {}) });
  };
  if (values['dry-run']) {
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
  const created = await submitWorkflow(api, namespace, make(namespace));
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
    throw new BatchscoreError(
      final.phase === 'Error' ? 'STORE_TRANSIENT' : 'RUN_INCOMPLETE',
      `workflow ${name} ended ${final.phase}${final.message ? `: ${final.message}` : ''}`,
      {
        retryable: final.phase === 'Error',
      },
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
