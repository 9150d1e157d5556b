/**
 * The field delimiter of one CSV input file: spec.input.csv.delimiter when the job sets it, else tab for a `.tsv`
 * file and comma for any other. The planner (header) and the worker (lines) both ask here, so they cannot differ.
 */
export function csvDelimiter(key: string, configured: string | undefined): string {
  return configured ?? (/\.tsv$/i.test(key) ? '\t' : ',');
}
