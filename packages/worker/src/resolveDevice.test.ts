import { describe, expect, it } from 'vitest';
import { resolveDevice } from './resolveDevice.js';

describe('resolveDevice', () => {
  it('is auto with nothing set (CPU-only jobs, run --local)', () => {
    expect(resolveDevice({})).toEqual({ device: 'auto', source: 'default' });
  });

  it('takes --default-device only when the job leaves spec.worker.device unset (a GPU job: cuda)', () => {
    expect(resolveDevice({ defaultDevice: 'cuda' })).toEqual({ device: 'cuda', source: '--default-device' });
    expect(resolveDevice({ spec: undefined, defaultDevice: 'cpu' })).toEqual({
      device: 'cpu',
      source: '--default-device',
    });
  });

  it("keeps the job's own spec.worker.device over --default-device", () => {
    expect(resolveDevice({ spec: 'cpu', defaultDevice: 'cuda' })).toEqual({
      device: 'cpu',
      source: 'spec.worker.device',
    });
    expect(resolveDevice({ spec: 'auto', defaultDevice: 'cuda' })).toEqual({
      device: 'auto',
      source: 'spec.worker.device',
    });
    expect(resolveDevice({ spec: 'cuda' })).toEqual({ device: 'cuda', source: 'spec.worker.device' });
  });

  it('lets --device (what run --local hands its workers) override both', () => {
    expect(resolveDevice({ flag: 'cpu', spec: 'cuda', defaultDevice: 'cuda' })).toEqual({
      device: 'cpu',
      source: '--device',
    });
    expect(resolveDevice({ flag: 'auto' })).toEqual({ device: 'auto', source: '--device' });
  });
});
