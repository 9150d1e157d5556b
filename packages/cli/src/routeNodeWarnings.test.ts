import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Fields, Log } from './log.js';
import { routeNodeWarnings } from './routeNodeWarnings.js';

function recorder(): { log: Log; lines: [string, Fields | undefined][] } {
  const lines: [string, Fields | undefined][] = [];
  const log: Log = {
    debug: () => {},
    info: () => {},
    warn: (m, f) => lines.push([m, f]),
    error: () => {},
    child: () => log,
  };
  return { log, lines };
}

describe('routeNodeWarnings', () => {
  it("replaces Node's printing listener with a warn line carrying the warning's kind and code", () => {
    const proc = new EventEmitter();
    const printed: Error[] = [];
    proc.on('warning', (w: Error) => printed.push(w));
    const { log, lines } = recorder();
    routeNodeWarnings(() => log, proc as unknown as NodeJS.Process);
    const dep = Object.assign(new Error('punycode is deprecated'), { name: 'DeprecationWarning', code: 'DEP0040' });
    proc.emit('warning', dep);
    const exp = Object.assign(new Error('something is experimental'), { name: 'ExperimentalWarning' });
    proc.emit('warning', exp);
    expect(printed).toEqual([]);
    expect(lines).toEqual([
      ['punycode is deprecated', { warning: 'DeprecationWarning', warningCode: 'DEP0040' }],
      ['something is experimental', { warning: 'ExperimentalWarning' }],
    ]);
  });

  it('adds nothing where warnings are off (--no-warnings: Node installs no listener)', () => {
    const proc = new EventEmitter();
    const { log } = recorder();
    routeNodeWarnings(() => log, proc as unknown as NodeJS.Process);
    expect(proc.listenerCount('warning')).toBe(0);
  });
});
