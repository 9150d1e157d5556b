import ort from 'onnxruntime-node';
import { exposeZipMaps } from './loadModel.js';
import { silenceOnnxruntimeLog } from './silenceOnnxruntimeLog.js';
import type { ZipMapOutput } from './onnxGraph.js';

export interface SuggestedBinding {
  inputs: { name: string; columns: string[] }[];
  outputs: { name: string; column: string; index?: number; label?: string | number }[];
  /** What the suggestion could not know: a stacked input's column names, say. */
  notes: string[];
}

/**
 * Pure: spec.model.inputs and outputs for a model, from its metadata. skl2onnx's `to_onnx(pipe, X_df)` makes one
 * [N, 1] input per DataFrame column, named after it: each binds to the column of its name. A wider input needs
 * the columns in the order the model was trained on, which the model does not record: they are left as
 * placeholders, with a note. Outputs: a label output as `predicted_label`; probabilities (a ZipMap or a [N, k]
 * tensor) as the last class's, the positive one of a binary classifier.
 */
export function suggestBinding(
  inputMeta: readonly ort.InferenceSession.ValueMetadata[],
  outputMeta: readonly ort.InferenceSession.ValueMetadata[],
  zipMaps: readonly ZipMapOutput[],
): SuggestedBinding {
  const notes: string[] = [];
  const inputs = inputMeta.map((m) => {
    const width = m.isTensor && m.shape.length === 2 ? m.shape[1] : 1;
    if (width === 1) return { name: m.name, columns: [m.name] };
    const n = typeof width === 'number' ? width : 2;
    notes.push(
      `input "${m.name}" takes ${typeof width === 'number' ? width : 'several'} columns ` +
        `stacked as [rows, columns]: name them in the order the model was trained on`,
    );
    return { name: m.name, columns: Array.from({ length: n }, (_, i) => `${m.name}_${i}`) };
  });
  const sources = new Set(zipMaps.map((z) => z.source));
  const outputs: SuggestedBinding['outputs'] = [];
  for (const m of outputMeta) {
    const zm = zipMaps.find((z) => z.output === m.name);
    if (zm) {
      const last = zm.labels[zm.labels.length - 1];
      outputs.push({
        name: m.name,
        column: `probability_${last ?? 'last'}`,
        ...(last === undefined ? {} : { label: last }),
      });
    } else if (!m.isTensor || sources.has(m.name)) {
      continue;
    } else if (m.shape.length === 2 && typeof m.shape[1] === 'number' && m.shape[1] > 1) {
      outputs.push({ name: m.name, column: `${m.name}_${m.shape[1] - 1}`, index: m.shape[1] - 1 });
    } else {
      outputs.push({ name: m.name, column: /label/i.test(m.name) ? 'predicted_label' : m.name });
    }
  }
  return { inputs, outputs, notes };
}

/** The suggestion for a model's bytes: it is opened on the CPU, with ZipMaps read as their tensors. */
export async function suggestBindingFor(bytes: Uint8Array): Promise<SuggestedBinding> {
  const { model, zipMaps } = exposeZipMaps(bytes);
  silenceOnnxruntimeLog();
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], logSeverityLevel: 4 });
  try {
    return suggestBinding(session.inputMetadata, session.outputMetadata, zipMaps);
  } finally {
    await session.release();
  }
}
