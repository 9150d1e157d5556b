import { BatchscoreError } from '@batchscore/core';
import { parse } from '../args.js';
import { locateRun } from '../locateRun.js';
import { formatFailure, formatManifest } from '../formatRun.js';

export const INSPECT_HELP = `batchscore inspect (RUN_URI | OUTPUT_URI --date D [--model-version V] | JOB.yaml --date D) [-o text|json]
  Shows a run's manifest as a readable summary: rows, quarantine, shards, throughput, cost, provider, prediction
  histograms and drift. RUN_URI is the run folder or its _batch_manifest.json. -o json prints the raw file.
  A failed run shows its _batch_failure.json.`;

export async function inspectCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { date: { type: 'string' }, 'model-version': { type: 'string' }, output: { type: 'string', short: 'o' } },
  });
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', `expected one run, output or job\n${INSPECT_HELP}`);
  const format = values.output ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new BatchscoreError('USAGE', `-o ${JSON.stringify(format)}: expected text or json`);
  const run = await locateRun(positionals[0]!, {
    ...(values.date ? { date: values.date } : {}),
    ...(values['model-version'] ? { modelVersion: values['model-version'] } : {}),
  });
  const body = run.kind === 'complete' ? run.manifest : run.failure;
  if (format === 'json') process.stdout.write(JSON.stringify(body, null, 2) + '\n');
  else
    process.stdout.write(
      run.kind === 'complete' ? formatManifest(run.manifest, run.uri) : formatFailure(run.failure, run.uri),
    );
}
