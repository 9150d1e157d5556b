import { fileURLToPath } from 'node:url';
import { parseJobSpec, type ScoringJob } from '@batchscore/core';
import type { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { checkModelBinding } from './checkModelBinding.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
type Meta = InferenceSession.ValueMetadata;
const tensor = (name: string, type: string, shape: (number | string)[]): Meta =>
  ({ name, isTensor: true, type, shape }) as Meta;
const IN = [tensor('features', 'float32', ['N', 4])];

function job(outputs: string): ScoringJob {
  return parseJobSpec(
    `
apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: test-job}
spec:
  input: {uri: "data/"}
  model:
    uri: "models/credit.onnx"
    version: v1
    inputs: [{name: features, columns: [a, b, c, d]}]
    outputs: ${outputs}
  output: {uri: "out/"}
`,
    { baseDir: ROOT, source: 'test.yaml' },
  );
}

describe('checkModelBinding', () => {
  it('returns the problems as whole lines naming the model, instead of throwing', () => {
    const j = job('[{name: probabilities, index: 2, column: p}, {name: nope, column: q}]');
    const r = checkModelBinding(j, IN, [tensor('probabilities', 'float32', ['N', 2])]);
    expect(r.problems).toEqual([
      `file://${ROOT}models/credit.onnx: spec.model.outputs[0].index: 2 is out of range ` +
        `for output "probabilities" of shape [N, 2]`,
      `file://${ROOT}models/credit.onnx: spec.model.outputs[1].name: the model has no output ` +
        `"nope" (it has probabilities)`,
    ]);
  });

  it('says nothing about an index on a symbolic last axis: the model may hold it', () => {
    const r = checkModelBinding(job('[{name: scores, index: 7, column: p}]'), IN, [
      tensor('scores', 'float32', ['N', 'K']),
    ]);
    expect(r).toEqual({
      inputs: [{ name: 'features', dtype: 'float32', columns: ['a', 'b', 'c', 'd'], rank: 2 }],
      outputs: [{ name: 'scores', dtype: 'float32', column: 'p', index: 7 }],
      problems: [],
    });
  });
});
