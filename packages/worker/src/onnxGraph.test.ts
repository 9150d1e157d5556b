import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findZipMaps, parseOnnxGraph, withGraphOutputs } from './onnxGraph.js';

const model = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/real-models/${name}.onnx`, import.meta.url)));

describe('onnxGraph', () => {
  it("finds the ZipMap an skl2onnx classifier's probabilities come from, with its class labels", () => {
    const g = parseOnnxGraph(model('sk_gbc'));
    expect([g.inputs, g.outputs]).toEqual([['features'], ['output_label', 'output_probability']]);
    expect(findZipMaps(g)).toEqual([{ output: 'output_probability', source: 'proba_output', labels: [0, 1] }]);
    expect(findZipMaps(parseOnnxGraph(model('xgb')))).toEqual([]);
  });

  it('adds graph outputs by appending a graph field, which parsers merge into the first', () => {
    const bytes = model('sk_gbc');
    const more = withGraphOutputs(bytes, ['proba_output']);
    expect(Buffer.from(more.subarray(0, bytes.length)).equals(bytes)).toBe(true);
    expect(parseOnnxGraph(more).outputs).toEqual(['output_label', 'output_probability', 'proba_output']);
    expect(parseOnnxGraph(more).nodes.length).toBe(parseOnnxGraph(bytes).nodes.length);
  });

  it('refuses bytes that are not protobuf', () => {
    expect(() => parseOnnxGraph(new TextEncoder().encode('\x0a\xff\xff\xff\x0fnot a model'))).toThrow(RangeError);
  });
});
