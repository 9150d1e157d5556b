import type { CommandSpec, Options } from './command.js';

export interface Command {
  spec: CommandSpec;
  run(argv: string[]): Promise<void>;
}

/**
 * Every command, in the order help lists them. Each module is imported only when its command runs: the Kubernetes
 * client alone takes ~0.5 s to load, which `run --local` and every worker process would otherwise pay.
 */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => import('./commands/run.js').then((m) => ({ spec: m.RUN, run: m.runCommand })),
  plan: async () => import('./commands/plan.js').then((m) => ({ spec: m.PLAN, run: m.planCommand })),
  score: async () => import('./commands/score.js').then((m) => ({ spec: m.SCORE, run: m.scoreCommand })),
  merge: async () => import('./commands/merge.js').then((m) => ({ spec: m.MERGE, run: m.mergeCommand })),
  validate: async () => import('./commands/validate.js').then((m) => ({ spec: m.VALIDATE, run: m.validateCommand })),
  demo: async () => import('./commands/demo.js').then((m) => ({ spec: m.DEMO, run: m.demoCommand })),
  inspect: async () => import('./commands/inspect.js').then((m) => ({ spec: m.INSPECT, run: m.inspectCommand })),
  compare: async () => import('./commands/compare.js').then((m) => ({ spec: m.COMPARE, run: m.compareCommand })),
  render: async () => import('./commands/render.js').then((m) => ({ spec: m.RENDER, run: m.renderCommand })),
  submit: async () => import('./commands/submit.js').then((m) => ({ spec: m.SUBMIT, run: m.submitCommand })),
  backfill: async () => import('./commands/backfill.js').then((m) => ({ spec: m.BACKFILL, run: m.backfillCommand })),
  'record-failure': async () =>
    import('./commands/recordFailure.js').then((m) => ({ spec: m.RECORD_FAILURE, run: m.recordFailureCommand })),
  notify: async () => import('./commands/notify.js').then((m) => ({ spec: m.NOTIFY, run: m.notifyCommand })),
  'refresh-schedules': async () =>
    import('./commands/refreshSchedules.js').then((m) => ({
      spec: m.REFRESH_SCHEDULES,
      run: m.refreshSchedulesCommand,
    })),
  version: async () => import('./commands/version.js').then((m) => ({ spec: m.VERSION, run: m.versionCommand })),
};

/** Every command's option table, loaded (help, docs/cli.md). */
export async function allCommandSpecs(): Promise<CommandSpec[]> {
  return Promise.all(Object.values(COMMANDS).map(async (load) => (await load()).spec));
}

/** What every command takes besides its own options; main and log.ts read them before the command does. */
export const GLOBAL_OPTIONS = {
  'log-level': {
    type: 'string',
    value: 'debug|info|warn|error',
    help: 'The least severe log line written (default info; or BATCHSCORE_LOG_LEVEL).',
  },
  'log-format': {
    type: 'string',
    value: 'auto|json|text',
    help:
      'JSON lines or text on stderr (default auto: JSON inside a Kubernetes pod, text elsewhere; or ' +
      'BATCHSCORE_LOG_FORMAT).',
  },
  help: { type: 'boolean', short: 'h', help: "Print the command's help." },
} as const satisfies Options;
