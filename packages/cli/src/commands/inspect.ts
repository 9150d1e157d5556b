import { BatchscoreError, checkPublishedRun, describeDamage, toYaml } from '@batchscore/core';
import { defineCommand, parseCommand } from '../command.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { locateRun } from '../locateRun.js';
import { formatFailure, formatManifest } from '../formatRun.js';

export const INSPECT = defineCommand({
  name: 'inspect',
  summary: "Shows a run's manifest (or its failure record) as a readable summary.",
  usage: [
    '(RUN_URI | OUTPUT_URI --date YYYY-MM-DD [--model-version V] | JOB.yaml --date YYYY-MM-DD) [--verify] ' +
      '[-o json|yaml]',
  ],
  description: `Shows a run's manifest as a readable summary: rows, quarantine, shards, throughput, cost, provider,
prediction histograms and drift. RUN_URI is the run folder or its _batch_manifest.json. A failed run shows its
_batch_failure.json. A date with neither (not published yet) exits 66. A complete run whose files are not all there
with the sizes its manifest lists is damaged: it is shown, then reported as RUN_INVALID (exit 65), naming the files.`,
  options: {
    date: { type: 'string', value: 'YYYY-MM-DD', help: "The run's date, with an output root or a job file." },
    'model-version': {
      type: 'string',
      value: 'V',
      help: "The model version, with an output root, when several ran that date (default: the job's).",
    },
    verify: {
      type: 'boolean',
      help: "Also read every published file again and check its sha256 against the manifest's.",
    },
    ...outputOption(['json', 'yaml'], 'Print the manifest (or failure record) as stored, as JSON or YAML.'),
  },
});

export async function inspectCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(INSPECT, argv);
  if (positionals.length !== 1) throw new BatchscoreError('USAGE', 'expected one run, output or job');
  const format = outputFormat(values.output, ['json', 'yaml']);
  const run = await locateRun(positionals[0]!, {
    ...(values.date ? { date: values.date } : {}),
    ...(values['model-version'] ? { modelVersion: values['model-version'] } : {}),
  });
  const body = run.kind === 'complete' ? run.manifest : run.failure;
  if (format === 'json') process.stdout.write(JSON.stringify(body, null, 2) + '\n');
  else if (format === 'yaml') process.stdout.write(toYaml([body]));
  else
    process.stdout.write(
      run.kind === 'complete' ? formatManifest(run.manifest, run.uri) : formatFailure(run.failure, run.uri),
    );
  if (run.kind !== 'complete') return;
  const check = await checkPublishedRun(run.open, run.manifest, { verify: values.verify ?? false });
  if (check.damaged.length > 0)
    throw new BatchscoreError('RUN_INVALID', `${run.uri}: the published run is damaged: ${describeDamage(check)}`);
}
