import type { Log } from './log.js';

/**
 * Node prints its own process warnings (ExperimentalWarning, DeprecationWarning, a library's emitWarning) to
 * stderr as `(node:PID) Name: message` text, with a second line of advice; under --log-format json that would be
 * the one thing in a pod's log that is not JSON. This replaces Node's printing listener with one that logs each
 * warning as a `warn` line, its kind in `warning` (and Node's code, DEP0040 say, in `warningCode`). Where
 * warnings are off (--no-warnings, NODE_NO_WARNINGS=1) Node installs no listener, and none is added here.
 */
export function routeNodeWarnings(log: () => Log, proc: NodeJS.Process = process): void {
  if (proc.listenerCount('warning') === 0) return;
  proc.removeAllListeners('warning');
  proc.on('warning', (w: Error & { code?: string }) => {
    log().warn(w.message, { warning: w.name, ...(w.code ? { warningCode: w.code } : {}) });
  });
}
