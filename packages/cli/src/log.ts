import { createRequire } from 'node:module';
import { choiceArg } from './args.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type Fields = Record<string, unknown>;

export interface Log {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  /** `fields.code` is the error's code: text output shows it as `error [CODE]`. */
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Log;
}

const LEVELS: Level[] = ['debug', 'info', 'warn', 'error'];

/**
 * JSON lines through pino (one object per line on stderr, for a log pipeline reading pod logs), or the
 * `batchscore: …` lines a person reads on a terminal. Both are synchronous, so nothing is lost when the process
 * exits with an error code right after.
 */
export function createLog(o: { format: LogFormat; level: Level; out?: NodeJS.WritableStream; base?: Fields }): Log {
  return o.format === 'json'
    ? jsonLog(o.level, o.base ?? {}, o.out)
    : textLog(o.level, o.out ?? process.stderr, o.base ?? {});
}

function textLog(level: Level, out: NodeJS.WritableStream, base: Fields): Log {
  const min = LEVELS.indexOf(level);
  const write = (l: Level, msg: string, fields?: Fields) => {
    if (LEVELS.indexOf(l) < min) return;
    const prefix =
      l === 'warn'
        ? 'warning: '
        : l === 'error'
          ? `error [${String(fields?.code ?? 'INTERNAL')}]: `
          : l === 'debug'
            ? 'debug: '
            : '';
    out.write(`batchscore: ${prefix}${msg}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (f) => textLog(level, out, { ...base, ...f }),
  };
}

function jsonLog(level: Level, base: Fields, out?: NodeJS.WritableStream): Log {
  // pino is loaded only for JSON output: a terminal run does not pay for it.
  const pino = createRequire(import.meta.url)('pino') as typeof import('pino');
  const dest = out ?? pino.destination({ fd: 2, sync: true });
  const logger = pino.pino(
    {
      level,
      base: { name: 'batchscore', ...base },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label: string) => ({ level: label }) },
    },
    dest as import('pino').DestinationStream,
  );
  const wrap = (l: import('pino').Logger): Log => ({
    debug: (m, f) => l.debug(f ?? {}, m),
    info: (m, f) => l.info(f ?? {}, m),
    warn: (m, f) => l.warn(f ?? {}, m),
    error: (m, f) => l.error(f ?? {}, m),
    child: (f) => wrap(l.child(f)),
  });
  return wrap(logger);
}

/**
 * Takes `--log-level` and `--log-format` out of argv (they apply to every command), falling back to
 * BATCHSCORE_LOG_LEVEL / BATCHSCORE_LOG_FORMAT. `auto` means JSON inside a Kubernetes pod (not on a terminal) and
 * text elsewhere. The choice goes back into the environment, so worker processes log the same way.
 */
export function logOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
  isTty: boolean,
): { argv: string[]; format: LogFormat; level: Level } {
  const rest: string[] = [];
  let level = env.BATCHSCORE_LOG_LEVEL;
  let format = env.BATCHSCORE_LOG_FORMAT;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(log-level|log-format)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const v = m[2] ?? argv[++i];
    if (m[1] === 'log-level') level = v;
    else format = v;
  }
  level ??= 'info';
  format ??= 'auto';
  const lvl = choiceArg('--log-level', level, LEVELS)!;
  const fmt = choiceArg('--log-format', format, ['auto', 'json', 'text'] as const)!;
  const resolved: LogFormat = fmt === 'auto' ? (env.KUBERNETES_SERVICE_HOST && !isTty ? 'json' : 'text') : fmt;
  return { argv: rest, format: resolved, level: lvl };
}

let current: Log = createLog({ format: 'text', level: 'info' });

/** The process's log, set once by main. */
export function log(): Log {
  return current;
}
export function setLog(l: Log): void {
  current = l;
}

/** For the stages' `log(line)` callbacks: a line starting "warning: " is a warning, anything else information. */
export function lineLog(l: Log = current): (line: string) => void {
  return (line) => (line.startsWith('warning: ') ? l.warn(line.slice('warning: '.length)) : l.info(line));
}
