import type { ScoringJob } from './spec.js';

/** Every column a model input reads, once each, in spec order. */
export function featureColumns(job: ScoringJob): string[] {
  return [...new Set(job.spec.model.inputs.flatMap((i) => i.columns))];
}

/** Columns that must be numeric: features, and columns with a spec.validation range. */
export function numericColumns(job: ScoringJob): string[] {
  return [...new Set([...featureColumns(job), ...Object.keys(job.spec.validation.ranges)])];
}

/** Every column a worker reads: numeric ones first, then passthrough. */
export function readColumns(job: ScoringJob): string[] {
  return [...new Set([...numericColumns(job), ...job.spec.output.passthrough])];
}
