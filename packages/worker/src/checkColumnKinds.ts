import { BatchscoreError, type PlanHeader } from '@batchscore/core';
import type { BoundInput } from './loadedModel.js';

/**
 * A string column (as the plan typed it) bound to a numeric model input, which no cast makes sense of, is a
 * permanent input error. The planner lets string features through, since only the model says which inputs take
 * strings (tensor(string): categorical columns); the worker and `run --local` check here once the model is loaded.
 */
export function checkColumnKinds(
  plan: Pick<PlanHeader, 'columnTypes' | 'inputUri'>,
  inputs: readonly BoundInput[],
): void {
  for (const inp of inputs) {
    if (inp.dtype === 'string') continue;
    const col = inp.columns.find((c) => /^(Dictionary<\w+, )?(Large)?Utf8>?$/.test(plan.columnTypes[c] ?? ''));
    if (col) {
      throw new BatchscoreError(
        'INPUT_INVALID',
        `${plan.inputUri}: column "${col}" is ${plan.columnTypes[col]} (strings), but model ` +
          `input "${inp.name}" is tensor(${inp.dtype}); model features must be numeric unless ` +
          `the model takes them as tensor(string)`,
      );
    }
  }
}
