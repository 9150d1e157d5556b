import { BatchscoreError, EXIT, errorMessage, exitCodeFor, markProcess, toDecoderAbort } from '@batchscore/core';
import { createLog, log, logOptions, setLog } from './log.js';
import { routeNodeWarnings } from './routeNodeWarnings.js';
import { isStopping, stopOnSigterm } from './stopOnSigterm.js';

type Command = (argv: string[]) => Promise<void>;

/**
 * Each command's module is imported only when it runs: the Kubernetes client alone takes ~0.5 s to load, which
 * `run --local` and every worker process would otherwise pay.
 */
const COMMANDS: Record<string, () => Promise<[Command, string]>> = {
  run: async () => import('./commands/run.js').then((m) => [m.runCommand, m.RUN_HELP]),
  plan: async () => import('./commands/plan.js').then((m) => [m.planCommand, m.PLAN_HELP]),
  score: async () => import('./commands/score.js').then((m) => [m.scoreCommand, m.SCORE_HELP]),
  merge: async () => import('./commands/merge.js').then((m) => [m.mergeCommand, m.MERGE_HELP]),
  render: async () => import('./commands/render.js').then((m) => [m.renderCommand, m.RENDER_HELP]),
  submit: async () => import('./commands/submit.js').then((m) => [m.submitCommand, m.SUBMIT_HELP]),
  backfill: async () => import('./commands/backfill.js').then((m) => [m.backfillCommand, m.BACKFILL_HELP]),
  'record-failure': async () =>
    import('./commands/recordFailure.js').then((m) => [m.recordFailureCommand, m.RECORD_FAILURE_HELP]),
  notify: async () => import('./commands/notify.js').then((m) => [m.notifyCommand, m.NOTIFY_HELP]),
  inspect: async () => import('./commands/inspect.js').then((m) => [m.inspectCommand, m.INSPECT_HELP]),
  compare: async () => import('./commands/compare.js').then((m) => [m.compareCommand, m.COMPARE_HELP]),
  demo: async () => import('./commands/demo.js').then((m) => [m.demoCommand, m.DEMO_HELP]),
  validate: async () => import('./commands/validate.js').then((m) => [m.validateCommand, m.VALIDATE_HELP]),
  version: async () => import('./commands/version.js').then((m) => [m.versionCommand, m.VERSION_HELP]),
};

async function help(): Promise<string> {
  const helps = await Promise.all(Object.values(COMMANDS).map(async (c) => (await c())[1]));
  return `batchscore: score large datasets with ONNX models as batch jobs

${helps.join('\n\n')}

Exit codes: 0 ok, ${EXIT.USAGE} usage, ${EXIT.PERMANENT} permanent failure (spec, model, data: do not retry),
${EXIT.RETRYABLE} retryable failure (storage, network: try again), ${EXIT.INTERNAL} internal error.

Every command takes --log-level debug|info|warn|error (default info) and --log-format auto|json|text
(auto: JSON lines inside a Kubernetes pod, text elsewhere); or BATCHSCORE_LOG_LEVEL / BATCHSCORE_LOG_FORMAT.
batchscore --version prints the version; batchscore --help (-h) prints this.`;
}

async function main(rawArgv: string[]): Promise<number> {
  const o = logOptions(rawArgv, process.env, Boolean(process.stderr.isTTY));
  process.env.BATCHSCORE_LOG_LEVEL = o.level;
  process.env.BATCHSCORE_LOG_FORMAT = o.format;
  setLog(createLog({ format: o.format, level: o.level }));
  if (o.format === 'json') routeNodeWarnings(log);
  const argv = o.argv;
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write((await help()) + '\n');
    return cmd ? EXIT.OK : EXIT.USAGE;
  }
  if (cmd === '--version') {
    process.stdout.write((await import('./commands/version.js')).versionLine() + '\n');
    return EXIT.OK;
  }
  const load = COMMANDS[cmd];
  if (!load)
    throw new BatchscoreError(
      'USAGE',
      `unknown command "${cmd}" (commands: ${Object.keys(COMMANDS).join(', ')}; see batchscore --help)`,
    );
  const entry = await load();
  markProcess(cmd);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(entry[1] + '\n');
    return EXIT.OK;
  }
  await entry[0](rest);
  return EXIT.OK;
}

function report(err: unknown): number {
  const code = exitCodeFor(err);
  const kind = err instanceof BatchscoreError ? err.code : 'INTERNAL';
  for (const line of errorMessage(err).split('\n'))
    log().error(line, { code: kind, exitCode: code, retryable: code === EXIT.RETRYABLE });
  if (code === EXIT.INTERNAL && err instanceof Error && err.stack) log().debug(err.stack, { code: kind });
  return code;
}

stopOnSigterm(report);

// An error no promise holds (parquet-wasm aborting on corrupt data is one) still gets one clear line and a
// meaningful exit code, not a WebAssembly stack trace and exit 1.
process.on('uncaughtException', (err) => {
  process.exit(report(toDecoderAbort(err) ?? err));
});

main(process.argv.slice(2)).then(
  (code) => {
    if (!isStopping()) process.exitCode = code;
  },
  (err: unknown) => {
    if (isStopping()) return; // its line is printed and its exit code set
    process.exitCode = report(err);
    // A worker of `run --local` is kept alive by its IPC channel: close it, so that the process exits and the
    // parent hears of the failure (a worker failing at start-up otherwise hangs the run).
    if (process.connected) process.disconnect();
  },
);
