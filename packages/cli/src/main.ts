import { BatchscoreError, EXIT, errorMessage, exitCodeFor, markProcess, toDecoderAbort } from '@batchscore/core';
import { renderHelp } from './command.js';
import { allCommandSpecs, COMMANDS } from './commands.js';
import { renderTopHelp } from './help.js';
import { createLog, log, logOptions, setLog } from './log.js';
import { tellParent, tellParentAndDisconnect } from './local/protocol.js';
import { routeNodeWarnings } from './routeNodeWarnings.js';
import { isStopping, stopOnSigterm } from './stopOnSigterm.js';

/** The command being run, once known: its name goes in a usage error's pointer to the help. */
let running: string | undefined;

async function main(rawArgv: string[]): Promise<number> {
  const o = logOptions(rawArgv, process.env, Boolean(process.stderr.isTTY));
  process.env.BATCHSCORE_LOG_LEVEL = o.level;
  process.env.BATCHSCORE_LOG_FORMAT = o.format;
  setLog(createLog({ format: o.format, level: o.level }));
  if (o.format === 'json') routeNodeWarnings(log);
  const argv = o.argv;
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(renderTopHelp(await allCommandSpecs()) + '\n');
    return cmd ? EXIT.OK : EXIT.USAGE;
  }
  if (cmd === '--version') {
    process.stdout.write((await import('./commands/version.js')).versionLine() + '\n');
    return EXIT.OK;
  }
  const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!load)
    throw new BatchscoreError('USAGE', `unknown command "${cmd}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const command = await load();
  running = cmd;
  markProcess(cmd);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(renderHelp(command.spec) + '\n');
    return EXIT.OK;
  }
  await command.run(rest);
  return EXIT.OK;
}

/** A usage error is one line that says where the help is, as kubectl's and git's are; not the whole help. */
function withHelpHint(err: unknown): unknown {
  if (!(err instanceof BatchscoreError) || err.code !== 'USAGE') return err;
  return new BatchscoreError('USAGE', `${err.message}; see 'batchscore ${running ? `${running} ` : ''}--help'`, {
    cause: err,
  });
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
  const e = toDecoderAbort(err) ?? err;
  const code = report(e);
  void tellParent(e).then(() => process.exit(code));
});

main(process.argv.slice(2))
  .catch((err: unknown) => Promise.reject(withHelpHint(err)))
  .then(
    (code) => {
      if (!isStopping()) process.exitCode = code;
    },
    (err: unknown) => {
      if (isStopping()) return; // its line is printed and its exit code set
      process.exitCode = report(err);
      // A worker of `run --local` tells its parent how it ended (code and exit class) and closes its IPC channel,
      // which otherwise keeps it alive (a worker failing at start-up would hang the run).
      tellParentAndDisconnect(err);
    },
  );
