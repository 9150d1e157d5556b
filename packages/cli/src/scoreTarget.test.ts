import { BatchscoreError } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { scoreTarget, worstExitCode } from './scoreTarget.js';

describe('score arguments: --shard I, or --pod I --pods P', () => {
  const usage = (values: Record<string, string>) => {
    try {
      scoreTarget(values);
    } catch (e) {
      expect(e).toBeInstanceOf(BatchscoreError);
      expect((e as BatchscoreError).code).toBe('USAGE');
      return (e as Error).message;
    }
    throw new Error(`no usage error for ${JSON.stringify(values)}`);
  };

  it('takes either form', () => {
    expect(scoreTarget({ shard: '3' })).toEqual({ shard: 3 });
    expect(scoreTarget({ pod: '0', pods: '2' })).toEqual({ pod: 0, pods: 2 });
    expect(scoreTarget({ pod: '31', pods: '32' })).toEqual({ pod: 31, pods: 32 });
  });

  it('says what is wrong, one rule each (exit 64)', () => {
    expect(usage({ shard: '1', pod: '0', pods: '2' })).toBe(
      '--shard scores one shard and --pod/--pods a stride of them; give one or the other, not both',
    );
    expect(usage({ shard: '1', pods: '2' })).toMatch(/^--shard scores one shard and --pod\/--pods/);
    expect(usage({})).toBe('--shard I, or --pod I with --pods P, is required');
    expect(usage({ pods: '4' })).toBe('--pods 4 needs --pod I (which of the 4 pods this is, 0-3)');
    expect(usage({ pod: '1' })).toBe('--pod 1 needs --pods P (how many pods share the shards)');
    expect(usage({ pod: '2', pods: '2' })).toBe('--pod 2: expected less than --pods (2): pods are numbered 0-1');
    expect(usage({ pod: '-1', pods: '2' })).toBe('--pod "-1": expected an integer ≥ 0');
    expect(usage({ pod: '0', pods: '0' })).toBe('--pods "0": expected an integer ≥ 1');
    expect(usage({ pod: 'x', pods: '2' })).toBe('--pod "x": expected an integer ≥ 0');
  });
});

describe('a stride’s exit code: the worst of its failed shards', () => {
  const permanent = new BatchscoreError('INPUT_INVALID', 'bad');
  const retryable = new BatchscoreError('STORE_TRANSIENT', 'flaky');
  it('65 if any failed permanently, else 75 if retryable; 0 with no failure', () => {
    expect(worstExitCode([])).toBe(0);
    expect(worstExitCode([retryable])).toBe(75);
    expect(worstExitCode([retryable, retryable])).toBe(75);
    expect(worstExitCode([retryable, permanent])).toBe(65);
    expect(worstExitCode([permanent, retryable])).toBe(65);
    expect(worstExitCode([new BatchscoreError('STOPPED', 'sigterm')])).toBe(75);
  });

  it('a bug (70) is not retried either, but a permanent failure says more', () => {
    expect(worstExitCode([retryable, new Error('bug')])).toBe(70);
    expect(worstExitCode([new Error('bug'), permanent])).toBe(65);
  });
});
