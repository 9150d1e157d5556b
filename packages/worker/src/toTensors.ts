import * as arrow from 'apache-arrow';
import { BatchscoreError } from '@batchscore/core';
import ort from 'onnxruntime-node';
import { allocInput, castInto } from './castInto.js';
import { exactIntsOf } from './exactInts.js';
import type { BoundInput } from './loadedModel.js';
import { numericValues } from './numericValues.js';
import { spellValues } from './spellValues.js';
import { textColumnOf } from './textColumnOf.js';

/**
 * Builds one tensor per model input: columns cast to the model's dtype as numpy's astype casts them (castInto)
 * and stacked row-major as [rows, columns], with typed-array copies (no per-row objects). Rows whose values the
 * dtype cannot represent were quarantined before (findInvalidRows).
 */
export function toTensors(batch: arrow.Table, inputs: BoundInput[], where: string): Record<string, ort.Tensor> {
  const rows = batch.numRows;
  const feeds: Record<string, ort.Tensor> = {};
  const exactInts = exactIntsOf(batch);
  for (const inp of inputs) {
    const k = inp.columns.length;
    const dims = inp.rank === 1 ? [rows] : [rows, k];
    if (inp.dtype === 'string') {
      feeds[inp.name] = new ort.Tensor('string', stringValues(batch, inp.columns, rows, where), dims);
      continue;
    }
    const dtype = inp.dtype;
    const out = allocInput(dtype, rows * k);
    inp.columns.forEach((col, j) => {
      const vec = batch.getChild(col);
      if (!vec) throw new BatchscoreError('INPUT_INVALID', `${where}: column "${col}" is missing`);
      if (vec.nullCount > 0) {
        throw new BatchscoreError(
          'INPUT_INVALID',
          `${where}: column "${col}" has ${vec.nullCount} null value${vec.nullCount === 1 ? '' : 's'}; ` +
            `model features must not be null`,
        );
      }
      castInto(out, numericValues(vec), j, k, rows, dtype, exactInts.get(col));
    });
    feeds[inp.name] = new ort.Tensor(dtype, out as never, dims);
  }
  return feeds;
}

/**
 * A string input's values, row-major, each spelled as pyarrow's cast to string spells its column's type
 * (spellValues); a null (unless quarantined before, by default) is the empty string.
 */
function stringValues(batch: arrow.Table, columns: string[], rows: number, where: string): string[] {
  const k = columns.length;
  const out = new Array<string>(rows * k);
  columns.forEach((col, j) => {
    // A CSV/JSONL column a numeric input takes too is read as numbers, with its text beside them.
    const vec = batch.getChild(textColumnOf(col)) ?? batch.getChild(col);
    if (!vec) throw new BatchscoreError('INPUT_INVALID', `${where}: column "${col}" is missing`);
    // A null left here is one spec.validation.nullStrings: empty lets through.
    const spelled = spellValues(vec);
    for (let i = 0; i < rows; i++) out[i * k + j] = spelled[i] ?? '';
  });
  return out;
}
