import type ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { calibrate } from './calibrate.js';
import type { LoadedModel } from './loadedModel.js';

describe('calibrate', () => {
  it('does not run a model whose batch dimension is fixed: it could not take the synthetic rows', async () => {
    let runs = 0;
    const model: LoadedModel = {
      session: { run: async () => void runs++ } as unknown as ort.InferenceSession,
      inputs: [{ name: 'features', dtype: 'float32', columns: ['a'], rank: 2 }],
      outputs: [{ name: 'p', dtype: 'float32', column: 'p' }],
      executionProvider: 'cpu',
      onnxruntimeVersion: '1.30.0',
      fixedBatch: 1,
    };
    expect(await calibrate(model)).toBeUndefined();
    expect(runs).toBe(0);
  });
});
