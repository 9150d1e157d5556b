import { fileURLToPath } from 'node:url';
import { BatchscoreError, openStore, parseJobSpec, type ScoringJob, type StoreFactory } from '@batchscore/core';
import type { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { bindModel, loadModel } from './loadModel.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const open: StoreFactory = (uri) => openStore(uri);

type Meta = InferenceSession.ValueMetadata;
const tensor = (name: string, type: string, shape: (number | string)[]): Meta =>
  ({ name, isTensor: true, type, shape }) as Meta;

/** Metadata of models/credit.onnx and test/fixtures/models/two_inputs_f64.onnx, as onnxruntime reports it. */
const CREDIT_IN = [tensor('features', 'float32', ['N', 4])];
const CREDIT_OUT = [tensor('probabilities', 'float32', ['N', 2]), tensor('label', 'int64', ['N'])];
const TWO_IN = [tensor('a', 'float64', ['N', 2]), tensor('b', 'int64', ['N', 1])];
const TWO_OUT = [tensor('y', 'float64', ['N', 3])];

function job(model: { uri?: string; inputs: string; outputs: string; passthrough?: string }): ScoringJob {
  return parseJobSpec(
    `
apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: test-job}
spec:
  input: {uri: "data/"}
  model:
    uri: "${model.uri ?? 'models/credit.onnx'}"
    version: v1
    inputs: ${model.inputs}
    outputs: ${model.outputs}
  output: {uri: "out/", passthrough: ${model.passthrough ?? '[id]'}}
`,
    { baseDir: ROOT, source: 'test.yaml' },
  );
}

const creditJob = (
  inputs = '[{name: features, columns: [age, income, credit, loan]}]',
  outputs = '[{name: probabilities, index: 1, column: p}]',
) => job({ inputs, outputs });

function bindError(j: ScoringJob, inMeta: readonly Meta[], outMeta: readonly Meta[]): BatchscoreError {
  try {
    bindModel(j, inMeta, outMeta);
  } catch (err) {
    expect(err).toBeInstanceOf(BatchscoreError);
    return err as BatchscoreError;
  }
  throw new Error('bindModel did not throw');
}

describe('bindModel', () => {
  it('binds a good credit job: names, dtypes, ranks, columns, index', () => {
    const j = creditJob(
      '[{name: features, columns: [age, income, credit, loan]}]',
      '[{name: probabilities, index: 1, column: p}, {name: label, column: lbl}, {name: probabilities, column: both}]',
    );
    expect(bindModel(j, CREDIT_IN, CREDIT_OUT)).toEqual({
      inputs: [{ name: 'features', dtype: 'float32', columns: ['age', 'income', 'credit', 'loan'], rank: 2 }],
      outputs: [
        { name: 'probabilities', dtype: 'float32', column: 'p', index: 1 },
        { name: 'label', dtype: 'int64', column: 'lbl' },
        { name: 'probabilities', dtype: 'float32', column: 'both' },
      ],
    });
  });

  it('binds float64 and int64 inputs of a two-input model', () => {
    const j = job({
      uri: 'test/fixtures/models/two_inputs_f64.onnx',
      inputs: '[{name: b, columns: [n]}, {name: a, columns: [x1, x2]}]',
      outputs: '[{name: y, index: 2, column: y2}]',
    });
    expect(bindModel(j, TWO_IN, TWO_OUT)).toEqual({
      inputs: [
        { name: 'b', dtype: 'int64', columns: ['n'], rank: 2 },
        { name: 'a', dtype: 'float64', columns: ['x1', 'x2'], rank: 2 },
      ],
      outputs: [{ name: 'y', dtype: 'float64', column: 'y2', index: 2 }],
    });
  });

  it('binds a 1-D input to exactly one column', () => {
    const j = creditJob('[{name: score, columns: [s]}]', '[{name: label, column: lbl}]');
    expect(bindModel(j, [tensor('score', 'int32', ['N'])], CREDIT_OUT).inputs).toEqual([
      { name: 'score', dtype: 'int32', columns: ['s'], rank: 1 },
    ]);
    const err = bindError(
      creditJob('[{name: score, columns: [s, t]}]', '[{name: label, column: lbl}]'),
      [tensor('score', 'int32', ['N'])],
      CREDIT_OUT,
    );
    expect(err.message).toContain(
      'spec.model.inputs[0].columns: model input "score" is 1-D and takes exactly one column, got 2',
    );
  });

  it('rejects a wrong input name, naming the field and listing the model inputs', () => {
    const err = bindError(creditJob('[{name: feats, columns: [age, income, credit, loan]}]'), CREDIT_IN, CREDIT_OUT);
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('spec.model.inputs[0].name: the model has no input "feats" (it has features)');
  });

  it('rejects a wrong output name, listing the model outputs', () => {
    const err = bindError(creditJob(undefined, '[{name: prob, column: p}]'), CREDIT_IN, CREDIT_OUT);
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toContain(
      'spec.model.outputs[0].name: the model has no output "prob" (it has probabilities, label)',
    );
  });

  it('rejects an index out of range, and an index on a 1-D output', () => {
    const err = bindError(
      creditJob(undefined, '[{name: probabilities, index: 2, column: p}, {name: label, index: 0, column: l}]'),
      CREDIT_IN,
      CREDIT_OUT,
    );
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toContain(
      'spec.model.outputs[0].index: 2 is out of range for output "probabilities" of shape [N, 2]',
    );
    expect(err.message).toContain('spec.model.outputs[1].index: model output "label" is 1-D, so it takes no index');
  });

  it('rejects 3 columns for a 4-wide input', () => {
    const err = bindError(creditJob('[{name: features, columns: [age, income, credit]}]'), CREDIT_IN, CREDIT_OUT);
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toContain(
      'spec.model.inputs[0].columns: model input "features" has shape [N, 4], so it takes 4 columns, got 3',
    );
  });

  it('rejects a model input left without columns', () => {
    const j = job({
      uri: 'test/fixtures/models/two_inputs_f64.onnx',
      inputs: '[{name: a, columns: [x1, x2]}]',
      outputs: '[{name: y, column: y}]',
    });
    const err = bindError(j, TWO_IN, TWO_OUT);
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toContain('spec.model.inputs: the model\'s input "b" is not given any columns');
  });

  it('rejects unsupported input types, and binds every integer width, string and bool inputs', () => {
    const err = bindError(creditJob(), [tensor('features', 'bfloat16', ['N', 4])], CREDIT_OUT);
    expect(err.message).toContain(
      'spec.model.inputs[0].name: model input "features" is tensor(bfloat16); supported: tensor(float16), ' +
        'tensor(float32), tensor(float64), tensor(int8), tensor(int16), tensor(int32), tensor(int64), ' +
        'tensor(uint8), tensor(uint16), tensor(uint32), tensor(uint64), tensor(bool), tensor(string)',
    );
    for (const dtype of ['int8', 'int16', 'uint8', 'uint16', 'uint32', 'uint64'])
      expect(bindModel(creditJob(), [tensor('features', dtype, ['N', 4])], CREDIT_OUT).inputs).toEqual([
        { name: 'features', dtype, columns: ['age', 'income', 'credit', 'loan'], rank: 2 },
      ]);
    expect(bindModel(creditJob(), [tensor('features', 'string', ['N', 4])], CREDIT_OUT).inputs).toEqual([
      { name: 'features', dtype: 'string', columns: ['age', 'income', 'credit', 'loan'], rank: 2 },
    ]);
    expect(bindModel(creditJob(), [tensor('features', 'bool', ['N', 4])], CREDIT_OUT).inputs).toEqual([
      { name: 'features', dtype: 'bool', columns: ['age', 'income', 'credit', 'loan'], rank: 2 },
    ]);
  });

  it('reports several problems together, one per line, naming the model URI', () => {
    const j = job({
      uri: 'test/fixtures/models/two_inputs_f64.onnx',
      inputs: '[{name: a, columns: [x1, x2, x3]}, {name: c, columns: [z]}]',
      outputs: '[{name: y, index: 3, column: y3}, {name: z, column: zz}]',
    });
    const err = bindError(j, TWO_IN, TWO_OUT);
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toContain(j.spec.model.uri);
    const expected = [
      'spec.model.inputs[0].columns: model input "a" has shape [N, 2], so it takes 2 columns, got 3',
      'spec.model.inputs[1].name: the model has no input "c" (it has a, b)',
      'spec.model.inputs: the model\'s input "b" is not given any columns',
      'spec.model.outputs[0].index: 3 is out of range for output "y" of shape [N, 3]',
      'spec.model.outputs[1].name: the model has no output "z" (it has y)',
    ];
    // Each problem on a line of its own, and nothing else reported.
    const lines = err.message.split('\n').filter((l) => l.includes('spec.model.'));
    expect(lines).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(lines[i]).toContain(e));
  });
});

describe('loadModel', () => {
  it('loads models/credit.onnx and binds it', async () => {
    const j = creditJob(undefined, '[{name: probabilities, index: 1, column: p}, {name: label, column: lbl}]');
    const m = await loadModel(j, open, { threads: 1 });
    expect(m.executionProvider).toBe('cpu');
    expect(m.inputs).toEqual([
      { name: 'features', dtype: 'float32', columns: ['age', 'income', 'credit', 'loan'], rank: 2 },
    ]);
    expect(m.outputs).toEqual([
      { name: 'probabilities', dtype: 'float32', column: 'p', index: 1 },
      { name: 'label', dtype: 'int64', column: 'lbl' },
    ]);
    expect(m.session.inputNames).toEqual(['features']);
    await m.session.release();
  });

  it('loads the two-input float64 model with its real metadata', async () => {
    const j = job({
      uri: 'test/fixtures/models/two_inputs_f64.onnx',
      inputs: '[{name: a, columns: [x1, x2]}, {name: b, columns: [n]}]',
      outputs: '[{name: y, column: y}]',
    });
    const m = await loadModel(j, open);
    expect(m.inputs.map((i) => [i.name, i.dtype, i.rank])).toEqual([
      ['a', 'float64', 2],
      ['b', 'int64', 2],
    ]);
    expect(m.outputs).toEqual([{ name: 'y', dtype: 'float64', column: 'y' }]);
    await m.session.release();
  });

  it('rejects a model whose hash differs from the plan', async () => {
    const err = await loadModel(creditJob(), open, { expect: { sha256: '0'.repeat(64), bytes: 0 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BatchscoreError);
    expect((err as BatchscoreError).code).toBe('MODEL_INVALID');
    expect((err as BatchscoreError).message).toContain('recorded by the plan');
  });

  it('rejects a file that is not an ONNX model', async () => {
    const j = job({
      uri: 'test/fixtures/models/not_a_model.onnx',
      inputs: '[{name: x, columns: [a]}]',
      outputs: '[{name: y, column: y}]',
    });
    const err = await loadModel(j, open).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchscoreError);
    expect((err as BatchscoreError).code).toBe('MODEL_INVALID');
    expect((err as BatchscoreError).message).toContain(`${j.spec.model.uri}: not a loadable ONNX model`);
  });

  it('reports a job that does not fit the real model', async () => {
    const err = await loadModel(creditJob('[{name: features, columns: [age]}]'), open).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchscoreError);
    expect((err as BatchscoreError).code).toBe('MODEL_INVALID');
    expect((err as BatchscoreError).message).toContain('so it takes 4 columns, got 1');
  });
});

describe('models with a fixed batch dimension', () => {
  it('bindModel reads the fixed batch dimension from the inputs', () => {
    const fixed = (n: number) => [tensor('features', 'float32', [n, 4])];
    const out = (n: number) => [tensor('probabilities', 'float32', [n, 2])];
    expect(bindModel(creditJob(), fixed(8), out(8)).fixedBatch).toBe(8);
    expect(bindModel(creditJob(), fixed(1), out(1)).fixedBatch).toBe(1);
    expect(bindModel(creditJob(), CREDIT_IN, CREDIT_OUT).fixedBatch).toBeUndefined();
  });

  it('bindModel rejects inputs whose fixed batch dimensions differ', () => {
    const j = job({
      inputs: '[{name: a, columns: [x1, x2]}, {name: b, columns: [n]}]',
      outputs: '[{name: y, column: y}]',
    });
    expect(() => bindModel(j, [tensor('a', 'float64', [8, 2]), tensor('b', 'int64', [4, 1])], TWO_OUT)).toThrow(
      'spec.model.inputs[1].name: model input "b" has a fixed batch dimension of 4, but ' +
        'input "a" has 8; every input must take the same rows',
    );
  });

  it('loadModel settles the batch size at the fixed dimension and says why, once', async () => {
    const lines: string[] = [];
    const m = await loadModel(
      job({
        uri: 'test/fixtures/models/credit_batch8.onnx',
        inputs: '[{name: features, columns: [age, income, credit, loan]}]',
        outputs: '[{name: probabilities, index: 1, column: p}]',
      }),
      open,
      { info: (l) => lines.push(l) },
    );
    expect(m.fixedBatch).toBe(8);
    expect(m.tuning).toEqual({ size: 8, trials: [], ceiling: 8 });
    expect(lines).toEqual([
      `file://${ROOT}test/fixtures/models/credit_batch8.onnx: model input "features" has ` +
        `a fixed batch dimension of 8, so rows are scored 8 at a time (spec.worker.batchSize ` +
        `does not apply; a last batch short of 8 rows is padded and the padding's outputs ` +
        `dropped)`,
    ]);
    await m.session.release();
  });
});
