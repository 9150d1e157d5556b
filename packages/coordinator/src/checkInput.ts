import { BatchscoreError, mapLimit, type InputFile, type ScoringJob, type StoreFactory } from '@batchscore/core';
import { checkInputColumns, type FileColumns } from './checkInputColumns.js';
import { readCsvHeader, readFooter } from './createPlan.js';
import { listJobInput } from './listInput.js';

/**
 * How many input files `validate` reads (the first by name): enough to catch a wrong or missing column, which is
 * the same in every file of a dataset, at the cost of a few footers rather than a full plan.
 */
export const CHECKED_INPUT_FILES = 3;

/**
 * The input problems the plan would fail on, every one of them: lists the date's input, reads the footers (Parquet)
 * or header lines (CSV) of the first `maxFiles` files, and checks the job's columns against them. JSONL is only
 * listed: a key missing from a line is null or a quarantined row at run time, not an error. A permanent failure
 * (no files, an unreadable file) is a problem line; a retryable one is thrown, as it would be by the run.
 */
export async function checkInput(
  job: ScoringJob,
  batchDate: string,
  open: StoreFactory,
  maxFiles = CHECKED_INPUT_FILES,
): Promise<string[]> {
  const { input } = job.spec;
  let listed: Awaited<ReturnType<typeof listJobInput>>;
  try {
    listed = await listJobInput(job, batchDate, open);
  } catch (err) {
    return problemLines(err);
  }
  const { store, files } = listed;
  const problems: string[] = [];
  const read = new Map<InputFile, FileColumns | string[]>();
  await mapLimit(files.slice(0, maxFiles), maxFiles, async (f) => {
    try {
      if (input.format === 'parquet') read.set(f, { fields: (await readFooter(store, f)).fields });
      else if (input.format === 'csv') read.set(f, { header: await readCsvHeader(store, f, input.csv.delimiter) });
    } catch (err) {
      read.set(f, problemLines(err));
    }
  });
  const checked = files.map((f) => {
    const r = read.get(f);
    if (Array.isArray(r)) problems.push(...r);
    return { uri: store.uriOf(f.key), file: f, ...(r && !Array.isArray(r) ? { columns: r } : {}) };
  });
  return [...problems, ...checkInputColumns(job, input.format, checked).problems];
}

function problemLines(err: unknown): string[] {
  if (err instanceof BatchscoreError && !err.retryable && err.code !== 'INTERNAL') return err.message.split('\n');
  throw err;
}
