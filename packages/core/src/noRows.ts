/**
 * An empty input fails unless spec.input.allowEmpty says it may be empty: a nightly job whose upstream wrote nothing
 * should not publish a complete run. Parquet counts rows at planning; CSV/JSONL only once read, so merge says it.
 */
export function noRows(inputUri: string, files: number): string {
  return (
    `${inputUri}: the input has no rows (${files} file${files === 1 ? '' : 's'}); set ` +
    `spec.input.allowEmpty: true if an empty input is a complete run`
  );
}
