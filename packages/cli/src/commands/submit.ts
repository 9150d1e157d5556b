import { renderWorkflow } from '@batchscore/coordinator';
import { loadKubeConfig, submitWorkflow, watchWorkflow, workflowsApi, type WorkflowStatus } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';
import { dateArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';
import { log } from '../log.js';

export const SUBMIT_HELP = `batchscore submit JOB.yaml --date YYYY-MM-DD [--namespace NS] [--watch] [--image IMG] [--kubeconfig FILE] [--context CTX]
  Creates the job's Argo Workflow for one date with the current kubeconfig and prints its name. With --watch it
  follows the run's phase and shard progress to the end; the exit code is then the run's result
  (0 Succeeded, 65 Failed, 75 Error).`;

export const KUBE_OPTIONS = {
  namespace: { type: 'string' },
  image: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
} as const;

export async function submitCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({ args: argv, allowPositionals: true, strict: true, options: { ...KUBE_OPTIONS, date: { type: 'string' }, watch: { type: 'boolean' } } });
  if (values.date === undefined) throw new BatchscoreError('USAGE', `--date is required\n${SUBMIT_HELP}`);
  const date = dateArg(values.date);
  const job = await loadJob({}, positionals);
  const namespace = values.namespace ?? job.spec.cluster.namespace;
  const kc = loadKubeConfig({ ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}), ...(values.context ? { context: values.context } : {}) });
  const api = workflowsApi(kc);
  const wf = withNamespace(renderWorkflow(job, date, values.image ? { image: values.image } : {}), namespace);
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

export function withNamespace(wf: Record<string, any>, namespace: string): Record<string, any> {
  return { ...wf, metadata: { ...wf.metadata, namespace } };
}

export function describe(s: WorkflowStatus): string {
  const shards = s.shardsTotal !== null ? ` shards ${s.shardsDone}/${s.shardsTotal}` : s.shardsDone > 0 ? ` shards ${s.shardsDone}` : '';
  return `${s.name} ${s.phase}${shards}${s.message ? ` (${s.message})` : ''}`;
}
