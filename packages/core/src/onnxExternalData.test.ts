import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { externalDataKey, externalTensors } from './onnxExternalData.js';

const fixture = (p: string) =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/models/${p}`, import.meta.url)));

describe('externalTensors', () => {
  it('finds each tensor whose data lives in a file beside the model', () => {
    expect(externalTensors(fixture('external/credit_external.onnx'))).toEqual([
      { tensor: 'feature_mean', location: 'credit_external.onnx.data' },
      { tensor: 'feature_std', location: 'credit_external.onnx.data' },
      { tensor: 'weights', location: 'weights/gemm.bin' },
      { tensor: 'bias', location: 'weights/gemm.bin' },
    ]);
  });

  it('finds none in a model that keeps its tensors inside', () => {
    expect(externalTensors(fixture('credit_batch8.onnx'))).toEqual([]);
  });
});

describe('externalDataKey', () => {
  it('keeps paths inside the model folder, and says why of the others', () => {
    expect(externalDataKey('w.bin')).toEqual({ key: 'w.bin' });
    expect(externalDataKey('./sub/./w.bin')).toEqual({ key: 'sub/w.bin' });
    expect(externalDataKey('../w.bin')).toEqual({ problem: 'leaves the model’s folder' });
    expect(externalDataKey('sub/../../w.bin')).toEqual({ problem: 'leaves the model’s folder' });
    expect(externalDataKey('/etc/w.bin')).toEqual({ problem: 'is not a relative path' });
    expect(externalDataKey('C:/w.bin')).toEqual({ problem: 'is not a relative path' });
    expect(externalDataKey('a\\w.bin')).toEqual({ problem: 'is not a relative path' });
    expect(externalDataKey('')).toEqual({ problem: 'names no file (its "location" is empty)' });
    expect(externalDataKey('a//b')).toEqual({ problem: 'is not a file name' });
  });
});
