import { renderWorkflow } from '@batchscore/coordinator';
import { backfill, dateRange, workflowsApi } from '@batchscore/coordinator/kube';
import { BatchscoreError, manifestKey, openObject, readJsonIfExists, sha256Of, type BatchManifest } from '@batchscore/core';
import { intArg, parse } from '../args.js';
import { loadJob } from '../loadJob.js';
import { storeFactoryFor } from '../storeFactory.js';
import { describe, KUBE_OPTIONS, kubeTarget } from './submit.js';
import { lineLog } from '../log.js';

export const BACKFILL_HELP = `batchscore backfill JOB.yaml --from YYYY-MM-DD --to YYYY-MM-DD [--parallel K] [--skip-complete] [-n NS] [--image IMG] [--kubeconfig FILE] [--context CTX]
  Submits one Workflow per date, oldest first, with at most K (default 2) running at once. --skip-complete skips
  dates whose output already has a complete manifest for the same model version and sha256.
  Exits 0 when every date succeeded or was skipped, 65 otherwise. The namespace is chosen as for submit.`;

export async function backfillCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { ...KUBE_OPTIONS, from: { type: 'string' }, to: { type: 'string' }, parallel: { type: 'string' }, 'skip-complete': { type: 'boolean' } },
  });
  if (!values.from || !values.to) throw new BatchscoreError('USAGE', `--from and --to are required\n${BACKFILL_HELP}`);
  const dates = dateRange(values.from, values.to);
  const parallel = intArg('parallel', values.parallel, 1) ?? 2;
  const job = await loadJob({}, positionals);
  const { kc, namespace } = kubeTarget(values, job.spec.cluster.namespace);
  const open = storeFactoryFor(job);

  let isComplete: ((date: string) => Promise<boolean>) | undefined;
  if (values['skip-complete']) {
    const model = openObject(open, job.spec.model.uri);
    const { sha256 } = await sha256Of(model.store, model.key);
    const out = open(job.spec.output.uri);
    isComplete = async (date) => {
      const m = await readJsonIfExists<BatchManifest>(out, manifestKey({ batchDate: date, modelVersion: job.spec.model.version }));
      return m?.status === 'complete' && m.model.sha256 === sha256;
    };
  }
  const log = lineLog();
  const result = await backfill({
    api: workflowsApi(kc),
    namespace,
    dates,
    parallel,
    makeWorkflow: (date) => renderWorkflow(job, date, { namespace, ...(values.image ? { image: values.image } : {}) }),
    ...(isComplete ? { isComplete } : {}),
    onEvent: (e) => {
      if (e.type === 'skipped') log(`${e.date}: complete for this model, skipped`);
      else if (e.type === 'submitted') log(`${e.date}: submitted ${e.name}`);
      else if (e.type === 'finished') log(`${e.date}: ${describe(e.status)}`);
      else if (e.type === 'error') log(`${e.date}: ${e.error.message}`);
    },
  });
  for (const d of result.dates) process.stdout.write(`${d.date}\t${d.status}${d.name ? `\t${d.name}` : ''}\n`);
  log(`${result.succeeded} succeeded, ${result.failed} failed, ${result.skipped} skipped`);
  if (result.failed > 0) throw new BatchscoreError('RUN_INCOMPLETE', `${result.failed} of ${dates.length} dates failed`);
}
