import { recordFailure } from '@batchscore/merge';
import { parse, dateArg } from '../args.js';
import { loadJob } from '../loadJob.js';
import { storeFactoryFor } from '../storeFactory.js';
import { log } from '../log.js';

export const RECORD_FAILURE_HELP = `batchscore record-failure (JOB.yaml | --job-json JSON) --date YYYY-MM-DD [--workflow NAME] [--status S] [--failures JSON]
  Writes _batch_failure.json in the run folder (the Argo exit handler runs this). A complete run is never touched.`;

export async function recordFailureCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      date: { type: 'string' },
      'job-json': { type: 'string' },
      workflow: { type: 'string' },
      status: { type: 'string' },
      failures: { type: 'string' },
    },
  });
  const date = dateArg(values.date);
  const job = await loadJob(values, positionals);
  const store = storeFactoryFor(job)(job.spec.output.uri);
  const r = await recordFailure(store, {
    job: job.metadata.name,
    batchDate: date,
    modelVersion: job.spec.model.version,
    ...(values.workflow ? { workflow: values.workflow } : {}),
    ...(values.status ? { status: values.status } : {}),
    ...(values.failures ? { failures: values.failures } : {}),
    recordedAt: new Date().toISOString(),
  });
  log().info(
    r.written ? `recorded the failed run at ${r.uri}` : `${r.uri} exists: the run is complete, nothing recorded`,
  );
}
