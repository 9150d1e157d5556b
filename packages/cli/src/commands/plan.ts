import { writeFile } from 'node:fs/promises';
import { createPlan, modelIdentity, prepareRepair, writePlan } from '@batchscore/coordinator';
import {
  BatchscoreError,
  damagedShards,
  describeDamage,
  isPublished,
  modelId,
  outputLayout,
  podCount,
  runKeyOf,
  storeConcurrency,
} from '@batchscore/core';
import { dateArg, intArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { lineLog } from '../log.js';
import { loadJob } from '../loadJob.js';
import { outputFormat, outputOption, printOutput } from '../outputFormat.js';
import { storeFactoryFor } from '../storeFactory.js';

export const PLAN = defineCommand({
  name: 'plan',
  summary: "Lists the input, reads Parquet footers and writes the run's shard plan.",
  usage: [
    '(JOB.yaml | --job-json JSON) [--date YYYY-MM-DD] [--skip-complete] [--complete-file FILE] ' +
      '[--shard-count-file FILE] [--pod-count-file FILE [--max-pods M]] [--force] [-o json|yaml|name]',
  ],
  description: `Lists the input, reads Parquet footers, writes the shard plan to the output's _batchscore/ folder and
prints {"plan": URI, "shards": N, "rows": R, "runId": ID}: one JSON line, or YAML with -o yaml, or the plan's URI
alone with -o name. The plan is always written to the same key, so score and merge find it from the job and date.
--skip-complete: when the date is already published for this model (version and sha256), plan nothing and print
{"complete": true, "date": D, "modelVersion": V} (-o name: nothing).`,
  options: {
    'job-json': {
      type: 'string',
      value: 'JSON',
      help: 'The job inline, instead of a file (a self-contained Workflow).',
    },
    date: { type: 'string', value: 'YYYY-MM-DD', help: "The run's date (default: today, UTC)." },
    'skip-complete': {
      type: 'boolean',
      help:
        'Plan nothing when the date is already published for this model. Also --skip-complete=true|false, as ' +
        'Argo passes a parameter.',
    },
    'complete-file': {
      type: 'string',
      value: 'FILE',
      help: 'Write true or false to FILE: whether the date was complete (the Workflow then skips score and merge).',
    },
    'shard-count-file': { type: 'string', value: 'FILE', help: 'Write the shard count to FILE (an Argo output).' },
    'pod-count-file': {
      type: 'string',
      value: 'FILE',
      help:
        'Write the score pod count, min(shards, --max-pods), to FILE: the Workflow fans out over that many pods, ' +
        'each scoring a stride of shards.',
    },
    'max-pods': { type: 'string', value: 'M', help: 'Most score pods (default: one a shard); needs --pod-count-file.' },
    force: {
      type: 'boolean',
      help: 'Take over an output that another run holds (another model under the same version).',
    },
    ...outputOption(['json', 'yaml', 'name'], "Print the result as YAML, or (name) the plan's URI alone."),
  },
});

export async function planCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(PLAN, skipCompleteArgs(argv));
  // Before any work: a bad -o must not leave a plan behind.
  const format = outputFormat(values.output, ['json', 'yaml', 'name']) ?? 'json';
  const date = dateArg(values.date);
  const maxPods = intArg('max-pods', values['max-pods'], 1);
  if (maxPods !== undefined && !values['pod-count-file'])
    throw new BatchscoreError(
      'USAGE',
      '--max-pods caps the pod count that --pod-count-file writes; give --pod-count-file FILE too',
    );
  const job = await loadJob(values, positionals);
  const open = storeFactoryFor(job);
  const counts = async (shards: number, complete: boolean) => {
    if (values['shard-count-file']) await writeFile(values['shard-count-file'], String(shards));
    if (values['pod-count-file']) await writeFile(values['pod-count-file'], String(podCount(shards, maxPods)));
    if (values['complete-file']) await writeFile(values['complete-file'], String(complete));
  };
  if (
    values['skip-complete'] &&
    (await isPublished(
      open(outputLayout(job).records),
      open,
      runKeyOf(job, date),
      async () => modelId(await modelIdentity(job, open)),
      { concurrency: storeConcurrency(job) },
    ))
  ) {
    await counts(0, true);
    if (format !== 'name') printOutput({ complete: true, date, modelVersion: job.spec.model.version }, format);
    return;
  }
  const plan = await createPlan(job, date, open, new Date(), { warn: (l) => lineLog()(`warning: ${l}`) });
  const uri = await writePlan(open(outputLayout(job).bookkeeping), plan, { force: values.force ?? false });
  // A complete run with damaged files: the shards that wrote them are scored again, and merge publishes them again.
  const damaged = values.force ? undefined : await prepareRepair(open, plan);
  if (damaged) {
    const shards = damagedShards(damaged);
    lineLog()(
      `warning: ${plan.runId}: ${describeDamage(damaged)}; shard${shards.length === 1 ? '' : 's'} ` +
        `${shards.join(', ')} will be scored again`,
    );
  }
  await counts(plan.shards.length, false);
  if (format === 'name') process.stdout.write(`${uri}\n`);
  else printOutput({ plan: uri, shards: plan.shards.length, rows: plan.totalRows, runId: plan.runId }, format);
}

/**
 * `--skip-complete=true|false` → the boolean flag or nothing: an Argo template passes its skip-complete parameter
 * this way, and node's parseArgs takes no value for a boolean.
 */
export function skipCompleteArgs(argv: string[]): string[] {
  return argv.flatMap((a) => {
    const m = /^--skip-complete=(.*)$/.exec(a);
    if (!m) return [a];
    if (m[1] === 'true') return ['--skip-complete'];
    if (m[1] === 'false') return [];
    throw new BatchscoreError('USAGE', `--skip-complete=${m[1]}: expected true or false (or --skip-complete alone)`);
  });
}
