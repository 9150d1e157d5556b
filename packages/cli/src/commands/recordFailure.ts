import { outputLayout, recordFailure, runKeyOf } from '@batchscore/core';
import { dateArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { OUTCOME_OPTIONS } from '../outcomeOptions.js';
import { loadJob } from '../loadJob.js';
import { storeFactoryFor } from '../storeFactory.js';
import { log } from '../log.js';

export const RECORD_FAILURE = defineCommand({
  name: 'record-failure',
  summary: "Writes _batch_failure.json in a failed run's folder (the Workflow's exit handler runs this).",
  usage: ['(JOB.yaml | --job-json JSON) --date YYYY-MM-DD [--workflow NAME] [--status S] [--failures JSON]'],
  description: `Writes _batch_failure.json in the run folder (below spec.output.bookkeepingUri, when it is set), with
the Workflow's name, status and failed nodes. A complete run is never touched.`,
  options: OUTCOME_OPTIONS,
});

export async function recordFailureCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(RECORD_FAILURE, argv);
  const date = dateArg(values.date);
  const job = await loadJob(values, positionals);
  const store = storeFactoryFor(job)(outputLayout(job).records);
  const r = await recordFailure(store, runKeyOf(job, date), {
    job: job.metadata.name,
    ...(values.workflow ? { workflow: values.workflow } : {}),
    ...(values.status ? { status: values.status } : {}),
    ...(values.failures ? { failures: values.failures } : {}),
    recordedAt: new Date().toISOString(),
  });
  log().info(
    r.written ? `recorded the failed run at ${r.uri}` : `${r.uri} exists: the run is complete, nothing recorded`,
  );
}
