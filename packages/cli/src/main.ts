import { BatchscoreError, EXIT, errorMessage, exitCodeFor } from '@batchscore/core';
import { backfillCommand, BACKFILL_HELP } from './commands/backfill.js';
import { demoCommand, DEMO_HELP } from './commands/demo.js';
import { mergeCommand, MERGE_HELP } from './commands/merge.js';
import { planCommand, PLAN_HELP } from './commands/plan.js';
import { recordFailureCommand, RECORD_FAILURE_HELP } from './commands/recordFailure.js';
import { renderCommand, RENDER_HELP } from './commands/render.js';
import { runCommand, RUN_HELP } from './commands/run.js';
import { scoreCommand, SCORE_HELP } from './commands/score.js';
import { submitCommand, SUBMIT_HELP } from './commands/submit.js';
import { validateCommand, VALIDATE_HELP } from './commands/validate.js';

const COMMANDS: Record<string, [(argv: string[]) => Promise<void>, string]> = {
  run: [runCommand, RUN_HELP],
  plan: [planCommand, PLAN_HELP],
  score: [scoreCommand, SCORE_HELP],
  merge: [mergeCommand, MERGE_HELP],
  render: [renderCommand, RENDER_HELP],
  submit: [submitCommand, SUBMIT_HELP],
  backfill: [backfillCommand, BACKFILL_HELP],
  'record-failure': [recordFailureCommand, RECORD_FAILURE_HELP],
  demo: [demoCommand, DEMO_HELP],
  validate: [validateCommand, VALIDATE_HELP],
};

const HELP = `batchscore: score large datasets with ONNX models as batch jobs

${Object.values(COMMANDS).map(([, h]) => h).join('\n\n')}

Exit codes: 0 ok, ${EXIT.USAGE} usage, ${EXIT.PERMANENT} permanent failure (spec, model, data: do not retry),
${EXIT.RETRYABLE} retryable failure (storage, network: try again), ${EXIT.INTERNAL} internal error.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP + '\n');
    return cmd ? EXIT.OK : EXIT.USAGE;
  }
  const entry = COMMANDS[cmd];
  if (!entry) throw new BatchscoreError('USAGE', `unknown command "${cmd}" (commands: ${Object.keys(COMMANDS).join(', ')}; see batchscore --help)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(entry[1] + '\n');
    return EXIT.OK;
  }
  await entry[0](rest);
  return EXIT.OK;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = exitCodeFor(err);
    const kind = err instanceof BatchscoreError ? err.code : 'INTERNAL';
    process.stderr.write(errorMessage(err).split('\n').map((l) => `batchscore: error [${kind}]: ${l}\n`).join(''));
    if (code === EXIT.INTERNAL && err instanceof Error && err.stack && process.env.BATCHSCORE_DEBUG) process.stderr.write(err.stack + '\n');
    process.exitCode = code;
  },
);
