import { renderWorkflow } from '@batchscore/coordinator';
import { kubeNamespace, loadKubeConfig, resolveNamespace, submitWorkflow, watchWorkflow, workflowsApi, type WorkflowStatus } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';
import { dateArg, namespaceArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';
import { log } from '../log.js';

export const SUBMIT_HELP = `batchscore submit JOB.yaml --date YYYY-MM-DD [-n NS] [--watch] [--image IMG] [--kubeconfig FILE] [--context CTX]
  Creates the job's Argo Workflow for one date with the current kubeconfig and prints its name. With --watch it
  follows the run's phase and shard progress to the end; the exit code is then the run's result
  (0 Succeeded, 65 Failed, 75 Error). The namespace, as kubectl picks it: -n/--namespace, else
  spec.cluster.namespace, else the kubeconfig context's namespace, else default.`;

export const KUBE_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  image: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
} as const;

export async function submitCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: { ...KUBE_OPTIONS, date: { type: 'string' }, watch: { type: 'boolean' } } });
  if (values.date === undefined) throw new BatchscoreError('USAGE', `--date is required\n${SUBMIT_HELP}`);
  const date = dateArg(values.date);
  const job = await loadJob({}, positionals);
  const { kc, namespace } = kubeTarget(values, job.spec.cluster.namespace);
  const api = workflowsApi(kc);
  const wf = renderWorkflow(job, date, { namespace, ...(values.image ? { image: values.image } : {}) });
  const { name } = await submitWorkflow(api, namespace, wf);
  process.stdout.write(`${name}\n`);
  if (!values.watch) return;
  const final = await watchWorkflow(api, namespace, name, (s) => log().info(describe(s)));
  if (final.phase !== 'Succeeded') {
    throw new BatchscoreError(final.phase === 'Error' ? 'STORE_TRANSIENT' : 'RUN_INCOMPLETE', `workflow ${name} ended ${final.phase}${final.message ? `: ${final.message}` : ''}`, {
      retryable: final.phase === 'Error',
    });
  }
}

/** The kubeconfig (--kubeconfig, --context) and the namespace to use in it (see resolveNamespace). */
export function kubeTarget(
  values: { namespace?: string | undefined; kubeconfig?: string | undefined; context?: string | undefined },
  jobNamespace: string | undefined,
): { kc: ReturnType<typeof loadKubeConfig>; namespace: string } {
  const kc = loadKubeConfig({ ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}), ...(values.context ? { context: values.context } : {}) });
  const { namespace } = resolveNamespace({ flag: namespaceArg(values.namespace), job: jobNamespace, context: kubeNamespace(kc) });
  return { kc, namespace };
}

export function describe(s: WorkflowStatus): string {
  const shards = s.shardsTotal !== null ? ` shards ${s.shardsDone}/${s.shardsTotal}` : s.shardsDone > 0 ? ` shards ${s.shardsDone}` : '';
  const where = s.scoreNodes.length > 0 ? ` on ${s.scoreNodes.join(', ')}` : '';
  return `${s.name} ${s.phase}${shards}${where}${s.message ? ` (${s.message})` : ''}`;
}
