import { describe, expect, it } from 'vitest';
import { runKeyOf } from './runKey.js';

describe('runKeyOf', () => {
  it('is the same key from the plan, the manifest it publishes and the job for its date', () => {
    const key = { batchDate: '2024-01-31', modelVersion: 'v3' };
    expect(runKeyOf({ batchDate: '2024-01-31', model: { version: 'v3' } })).toEqual(key);
    expect(runKeyOf({ batch_date: '2024-01-31', model: { version: 'v3' } })).toEqual(key);
    expect(runKeyOf({ spec: { model: { version: 'v3' } } }, '2024-01-31')).toEqual(key);
  });
});
