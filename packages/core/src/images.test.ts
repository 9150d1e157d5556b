import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGES, defaultImage } from './images.js';

describe('DEFAULT_IMAGES / defaultImage', () => {
  it('names the two targets of Dockerfile.worker, tagged with the version', () => {
    expect(DEFAULT_IMAGES).toEqual({
      cpu: 'ghcr.io/batchscore/batchscore-worker:0.1.0-cpu',
      gpu: 'ghcr.io/batchscore/batchscore-worker:0.1.0-gpu',
    });
  });

  it('is the cpu image without GPUs and the gpu image with any', () => {
    expect(defaultImage(0)).toBe('ghcr.io/batchscore/batchscore-worker:0.1.0-cpu');
    expect(defaultImage(1)).toBe('ghcr.io/batchscore/batchscore-worker:0.1.0-gpu');
    expect(defaultImage(8)).toBe('ghcr.io/batchscore/batchscore-worker:0.1.0-gpu');
  });

  it('refuses a count that is not one (a bug in the caller: the spec parser checks gpusPerWorker)', () => {
    expect(() => defaultImage(-1)).toThrow(new RangeError('gpusPerWorker must be an integer ≥ 0, got -1'));
    expect(() => defaultImage(0.5)).toThrow(new RangeError('gpusPerWorker must be an integer ≥ 0, got 0.5'));
    expect(() => defaultImage(Number.NaN)).toThrow(new RangeError('gpusPerWorker must be an integer ≥ 0, got NaN'));
  });
});
