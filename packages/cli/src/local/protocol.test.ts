import { BatchscoreError } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { exitingMessage, workerEnded } from './protocol.js';

describe("a worker's outcome over IPC", () => {
  it('carries the code and exit class of the error the worker ends on', () => {
    expect(exitingMessage(new BatchscoreError('MODEL_INVALID', 'bad model'))).toEqual({
      type: 'exiting',
      code: 'MODEL_INVALID',
      message: 'bad model',
      exitCode: 65,
    });
    expect(exitingMessage(new BatchscoreError('STORE_TRANSIENT', 'slow down'))).toMatchObject({ exitCode: 75 });
    expect(exitingMessage(new Error('a bug'))).toEqual({
      type: 'exiting',
      code: 'INTERNAL',
      message: 'a bug',
      exitCode: 70,
    });
  });

  it("the run fails with the worker's own code when it sent one, else as lost (a signal, 75) or a bug", () => {
    const base = { what: 'while scoring shard 3', tries: '', lastLine: 'last words' };
    const sent = workerEnded({
      ...base,
      code: 75,
      signal: null,
      exiting: exitingMessage(new BatchscoreError('STORE_TRANSIENT', 'x')),
    });
    expect([sent.code, sent.message, sent.retryable]).toEqual(['STORE_TRANSIENT', 'x', true]);
    const killed = workerEnded({
      ...base,
      code: null,
      signal: 'SIGKILL',
      exiting: undefined,
      tries: ' (after 2 restarts)',
    });
    expect([killed.code, killed.message]).toEqual([
      'WORKER_LOST',
      'worker process exited with SIGKILL while scoring shard 3 (after 2 restarts): last words',
    ]);
    expect(workerEnded({ ...base, code: 1, signal: null, exiting: undefined }).code).toBe('INTERNAL');
  });
});
