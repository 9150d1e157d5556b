import type { ScoringJob } from './spec.js';

/** Every column a model input reads, once each, in spec order. */
export function featureColumns(job: ScoringJob): string[] {
  return [...new Set(job.spec.model.inputs.flatMap((i) => i.columns))];
}

/**
 * Columns that must be numeric: features, and columns with a spec.validation range. `textColumns`: features the
 * model takes as tensor(string) (known once the model is loaded), which are read as strings instead.
 */
export function numericColumns(job: ScoringJob, textColumns: readonly string[] = []): string[] {
  const ranged = Object.keys(job.spec.validation.ranges);
  return [
    ...new Set([...featureColumns(job).filter((c) => !textColumns.includes(c) || ranged.includes(c)), ...ranged]),
  ];
}

/** Every column a worker reads: features and ranged columns first, then passthrough. */
export function readColumns(job: ScoringJob): string[] {
  return [...new Set([...numericColumns(job), ...job.spec.output.passthrough])];
}
