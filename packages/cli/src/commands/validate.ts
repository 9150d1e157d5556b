import {
  BatchscoreError,
  openObject,
  readJobFile,
  resolveUri,
  type ScoringJob,
  toYaml,
  type StoreFactory,
} from '@batchscore/core';
import { CHECKED_INPUT_FILES, checkInput, checkModelFile } from '@batchscore/coordinator';
import { dateArg } from '../args.js';
import { defineCommand, parseCommand } from '../command.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { storeFactoryFor } from '../storeFactory.js';

export const VALIDATE = defineCommand({
  name: 'validate',
  summary: 'Checks a job before it runs, or suggests the binding of a model (--suggest).',
  usage: ['JOB.yaml [--date YYYY-MM-DD] [--offline] [-o json|yaml]', '--suggest MODEL.onnx'],
  description: `Parses the job file, opens the model, and reads the footers (CSV: header lines) of the first
${CHECKED_INPUT_FILES} input files for the date; reports every problem the run would fail on at once (SPEC_INVALID,
exit 65), then prints the resolved job.
--suggest MODEL.onnx prints spec.model.inputs and outputs for the model as YAML, from its metadata: one input per
column for skl2onnx's per-column layout, a class's probability from a ZipMap or a [rows, k] output.`,
  options: {
    date: { type: 'string', value: 'YYYY-MM-DD', help: 'The date whose input is read (default: today, UTC).' },
    offline: { type: 'boolean', help: 'Check the job file alone; read no model or data.' },
    suggest: { type: 'boolean', help: 'The positional is a model: print a binding for it.' },
    ...outputOption(['json', 'yaml'], 'Print the resolved job as JSON (the default) or YAML.'),
  },
});

export async function validateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(VALIDATE, argv);
  if (positionals.length !== 1)
    throw new BatchscoreError('USAGE', `expected one ${values.suggest ? 'model' : 'job'} file`);
  const format = outputFormat(values.output, ['json', 'yaml']) ?? 'json';
  if (values.suggest) return suggest(positionals[0]!);
  const date = dateArg(values.date);
  const job = await readJobFile(positionals[0]!);
  if (!values.offline) {
    const open = storeFactoryFor(job);
    const [inputProblems, modelProblems] = await Promise.all([checkInput(job, date, open), modelProblemsOf(job, open)]);
    // In the run's order (plan, then workers). One code for the whole report: every line is a way this job cannot
    // run as written, none is worth a retry (exit 65), and a script needs one code to act on, not one per line.
    const problems = [...inputProblems, ...modelProblems];
    if (problems.length > 0) throw new BatchscoreError('SPEC_INVALID', problems.join('\n'));
  }
  process.stdout.write(format === 'yaml' ? toYaml([job]) : JSON.stringify(job, null, 2) + '\n');
}

async function modelProblemsOf(job: ScoringJob, open: StoreFactory): Promise<string[]> {
  const missing = await checkModelFile(open, job.spec.model.uri);
  if (missing.length > 0) return missing;
  // onnxruntime loads only when the model is to be opened, not for --offline.
  const { checkModel } = await import('@batchscore/worker');
  return checkModel(job, open);
}

/** `validate --suggest MODEL`: the binding to paste into spec.model, with what it could not know as comments. */
async function suggest(modelPath: string): Promise<void> {
  const resolved = resolveUri(modelPath, process.cwd(), false);
  if ('error' in resolved) throw new BatchscoreError('USAGE', `${modelPath}: ${resolved.error}`);
  const { uri } = resolved;
  const { store, key } = openObject(storeFactoryFor(), uri);
  const bytes = await store.get(key);
  const { suggestBindingFor } = await import('@batchscore/worker');
  let s: Awaited<ReturnType<typeof suggestBindingFor>>;
  try {
    s = await suggestBindingFor(bytes);
  } catch (err) {
    throw new BatchscoreError(
      'MODEL_INVALID',
      `${uri}: not a loadable ONNX model (${String((err as Error)?.message ?? err).split('\n')[0]})`,
      { cause: err },
    );
  }
  // One flow mapping a line, as the jobs in docs/ and examples/ write them.
  const v = (x: string | number) =>
    typeof x === 'number' || /^[A-Za-z_][\w.-]*$/.test(x) ? String(x) : JSON.stringify(x);
  const item = (o: Record<string, string | number | string[] | undefined>) =>
    `  - {${Object.entries(o)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${k}: ${Array.isArray(x) ? `[${x.map(v).join(', ')}]` : v(x!)}`)
      .join(', ')}}`;
  const lines = [
    `# spec.model binding suggested for ${uri}`,
    ...s.notes.map((n) => `# ${n}`),
    'inputs:',
    ...s.inputs.map((i) => item(i)),
    'outputs:',
    ...s.outputs.map((o) =>
      item({
        name: o.name,
        ...(o.index !== undefined ? { index: o.index } : {}),
        ...(o.label !== undefined ? { label: o.label } : {}),
        column: o.column,
      }),
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
