import type { ScoringJob } from '@batchscore/core';
import type ort from 'onnxruntime-node';
import { INPUT_DTYPES } from './inputDTypes.js';
import type { BoundInput, BoundOutput, InputDType, OutputDType } from './loadedModel.js';
import type { ZipMapOutput } from './onnxGraph.js';

const INPUT_TYPES: readonly string[] = INPUT_DTYPES;
const OUTPUT_TYPES: readonly string[] = [
  'float16',
  'float32',
  'float64',
  'int64',
  'int32',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
];

/**
 * Pure: matches the spec against the model's metadata and finds every mismatch at once. The worker binds with it
 * (and fails on any problem) and `validate` reports its problems, so the two cannot disagree. Each problem is a
 * whole line, naming the model file and the spec field. An output index is checked only against a static last
 * axis: a symbolic one may hold any index, so saying nothing is the only answer that is never a false alarm.
 */
export function checkModelBinding(
  job: ScoringJob,
  inputMeta: readonly ort.InferenceSession.ValueMetadata[],
  outputMeta: readonly ort.InferenceSession.ValueMetadata[],
  zipMaps: readonly ZipMapOutput[] = [],
): { inputs: BoundInput[]; outputs: BoundOutput[]; fixedBatch?: number; problems: string[] } {
  const problems: string[] = [];
  // A batch dimension that is a number, not a name (exporters write 1 or N), is the only row count the model takes.
  let fixedBatch: { size: number; input: string } | undefined;
  const uri = job.spec.model.uri;
  const inputs: BoundInput[] = [];
  const specInputs = job.spec.model.inputs;
  job.spec.model.inputs.forEach((si, i) => {
    const p = `spec.model.inputs[${i}]`;
    const m = inputMeta.find((x) => x.name === si.name);
    if (!m)
      return problems.push(
        `${p}.name: the model has no input "${si.name}" (it has ${inputMeta.map((x) => x.name).join(', ')})`,
      );
    if (!m.isTensor || !INPUT_TYPES.includes(m.type)) {
      return problems.push(
        `${p}.name: model input "${si.name}" is ` +
          `${m.isTensor ? `tensor(${m.type})` : 'not a tensor (a sequence or map)'}; ` +
          `supported: ${INPUT_TYPES.map((t) => `tensor(${t})`).join(', ')}`,
      );
    }
    const shape = m.shape;
    const rows = shape[0];
    if (typeof rows === 'number') {
      if (fixedBatch && fixedBatch.size !== rows) {
        return problems.push(
          `${p}.name: model input "${si.name}" has a fixed batch dimension of ${rows}, but ` +
            `input "${fixedBatch.input}" has ${fixedBatch.size}; every input must take the same ` +
            `rows`,
        );
      }
      fixedBatch ??= { size: rows, input: si.name };
    }
    if (shape.length === 1) {
      if (si.columns.length !== 1)
        return problems.push(
          `${p}.columns: model input "${si.name}" is 1-D and takes exactly one column, got ${si.columns.length}`,
        );
      inputs.push({ name: si.name, dtype: m.type as InputDType, columns: si.columns, rank: 1 });
    } else if (shape.length === 2) {
      const w = shape[1];
      if (typeof w === 'number' && w !== si.columns.length) {
        return problems.push(
          `${p}.columns: model input "${si.name}" has shape [${shape.join(', ')}], so it takes ` +
            `${w} columns, got ${si.columns.length}`,
        );
      }
      inputs.push({ name: si.name, dtype: m.type as InputDType, columns: si.columns, rank: 2 });
    } else {
      return problems.push(
        `${p}.name: model input "${si.name}" has shape [${shape.join(', ')}]; only [rows] ` +
          `and [rows, columns] inputs are supported`,
      );
    }
  });
  for (const m of inputMeta) {
    if (!specInputs.some((s) => s.name === m.name))
      problems.push(`spec.model.inputs: the model's input "${m.name}" is not given any columns`);
  }
  const outputs: BoundOutput[] = [];
  job.spec.model.outputs.forEach((so, i) => {
    const p = `spec.model.outputs[${i}]`;
    let m = outputMeta.find((x) => x.name === so.name);
    if (!m)
      return problems.push(
        `${p}.name: the model has no output "${so.name}" (it has ${outputMeta.map((x) => x.name).join(', ')})`,
      );
    // A ZipMap's sequence of maps cannot be fetched from onnxruntime-node; the tensor it is made from can (the
    // model is loaded with that tensor as an extra output), with the node's class labels for `label`.
    const zm = m.isTensor ? undefined : zipMaps.find((z) => z.output === so.name);
    let index = so.index;
    if (zm) {
      const src = outputMeta.find((x) => x.name === zm.source);
      if (!src)
        return problems.push(
          `${p}.name: model output "${so.name}" is a ZipMap of "${zm.source}", which could not be read as a tensor`,
        );
      if (so.label !== undefined) {
        const at = zm.labels.findIndex((l) => String(l) === String(so.label));
        if (at < 0)
          return problems.push(
            `${p}.label: ${JSON.stringify(so.label)} is not one of the classes of output "${so.name}" ` +
              `(${zm.labels.map((l) => JSON.stringify(l)).join(', ')})`,
          );
        index = at;
      }
      m = src;
    } else if (so.label !== undefined) {
      return problems.push(
        `${p}.label: output "${so.name}" is ${m.isTensor ? 'a tensor' : 'not a tensor'} that ` +
          `no ZipMap node makes, so it lists no class labels; pick its element with index`,
      );
    }
    if (!m.isTensor) {
      return problems.push(
        `${p}.name: model output "${so.name}" is not a tensor (a sequence or map), and no ` +
          `ZipMap node makes it; batchscore writes tensor outputs: export the model with tensor ` +
          `outputs (skl2onnx: options={id(classifier): {"zipmap": False}})`,
      );
    }
    if (!OUTPUT_TYPES.includes(m.type)) {
      return problems.push(
        `${p}.name: model output "${so.name}" is tensor(${m.type}); ` +
          `supported: ${OUTPUT_TYPES.map((t) => `tensor(${t})`).join(', ')}`,
      );
    }
    const shape = m.shape;
    if (shape.length > 2)
      return problems.push(
        `${p}.name: model output "${so.name}" has shape [${shape.join(', ')}]; only [rows] ` +
          `and [rows, k] outputs are supported`,
      );
    if (m.type === 'string' && shape.length === 2 && index === undefined) {
      return problems.push(
        `${p}.index: model output "${so.name}" is tensor(string) of shape [${shape.join(', ')}]: ` +
          `pick one element with index (a row of strings is not written as a list)`,
      );
    }
    if (index !== undefined) {
      if (shape.length === 1)
        return problems.push(`${p}.index: model output "${so.name}" is 1-D, so it takes no index`);
      const w = shape[1];
      if (typeof w === 'number' && index >= w)
        return problems.push(
          `${p}.index: ${index} is out of range for output "${so.name}" of shape [${shape.join(', ')}]`,
        );
    }
    outputs.push({
      name: m.name,
      dtype: m.type as OutputDType,
      column: so.column,
      ...(index === undefined ? {} : { index }),
    });
  });
  return {
    inputs,
    outputs,
    ...(fixedBatch ? { fixedBatch: fixedBatch.size } : {}),
    problems: problems.map((p) => `${uri}: ${p}`),
  };
}
