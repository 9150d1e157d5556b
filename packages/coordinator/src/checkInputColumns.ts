import * as arrow from 'apache-arrow';
import {
  isNumericType,
  numericColumns,
  readColumns,
  type InputFile,
  type InputFormat,
  type ScoringJob,
} from '@batchscore/core';

/** What an input file says about its columns: a Parquet footer's fields, or a CSV header's names (untyped). */
export type FileColumns = { fields: readonly arrow.Field[] } | { header: readonly string[] };

export interface CheckedFile {
  uri: string;
  file: InputFile;
  /** Absent for a file not read (JSONL has no schema to read; validate reads only a few files). */
  columns?: FileColumns;
}

/**
 * Pure: the columns the job reads against the input files, in file order, every problem as one line naming the
 * file. `plan` checks every file with it and `validate` the few it reads, so the two cannot disagree. Hive
 * partition folders are judged from the names of all files given, read or not. Also returns each column's type
 * as the plan records it: a dictionary column's dictionary type when every file has that one, else its values'
 * type (text formats: Float64 for numeric columns, Utf8 for the rest).
 */
export function checkInputColumns(
  job: ScoringJob,
  format: InputFormat,
  files: readonly CheckedFile[],
): { columnTypes: Record<string, string>; problems: string[] } {
  const problems: string[] = [];
  // Columns with a validation range are checked as numbers, so they must be numeric like features.
  const featureCols = numericColumns(job);
  const needed = readColumns(job);
  const columnTypes: Record<string, string> = {};
  for (const col of needed) {
    const inParts = files.filter((f) => col in f.file.partitionValues).length;
    if (inParts > 0 && inParts < files.length) {
      const f = files.find((x) => !(col in x.file.partitionValues))!;
      problems.push(`${f.uri}: column "${col}" is a hive partition folder for some files but not this one`);
    }
    if (inParts > 0) columnTypes[col] = 'Utf8';
  }
  for (const col of featureCols) {
    if (columnTypes[col] === 'Utf8')
      problems.push(
        `column "${col}" comes from hive partition folders (strings) and cannot be a model ` +
          `feature or have a spec.validation range`,
      );
  }
  const fileCols = needed.filter((c) => columnTypes[c] === undefined);
  for (const f of files) {
    if (!f.columns) continue;
    if ('header' in f.columns) {
      const header = f.columns.header;
      for (const col of fileCols) {
        const times = header.filter((h) => h === col).length;
        if (times === 0) problems.push(`${f.uri}: column "${col}" not found in the CSV header (${header.join(', ')})`);
        else if (times > 1)
          problems.push(
            `${f.uri}: column "${col}" appears ${times} times in the CSV header; a column the job reads must ` +
              `appear once`,
          );
      }
      continue;
    }
    const fields = f.columns.fields;
    for (const col of fileCols) {
      const field = fields.find((x) => x.name === col);
      const where = `${f.uri}: column "${col}"`;
      if (!field) {
        problems.push(`${where} not found (the file has ${fields.map((x) => x.name).join(', ')})`);
        continue;
      }
      // A string column may feed a model's tensor(string) input (a categorical feature); which inputs take strings
      // the worker knows once the model is loaded, and it refuses a string column for a numeric input then.
      const ranged = col in job.spec.validation.ranges;
      if (featureCols.includes(col) && !isNumericType(field.type) && (ranged || !isStringType(field.type))) {
        problems.push(
          `${where} is ${field.type}, but model features must be numeric or strings, and columns ` +
            `with a spec.validation range numeric`,
        );
        continue;
      }
      const t = String(field.type);
      const seen = columnTypes[col];
      if (seen === undefined) columnTypes[col] = t;
      else if (logicalType(seen) !== logicalType(t))
        problems.push(
          `${where} is ${logicalType(t)}, but earlier input files have ${logicalType(seen)}; all files must ` +
            `share a schema`,
        );
      // A dictionary in some files and not others is read as its values (workers decode it).
      else if (seen !== t) columnTypes[col] = logicalType(t);
    }
  }
  if (format !== 'parquet') for (const c of fileCols) columnTypes[c] = featureCols.includes(c) ? 'Float64' : 'Utf8';
  return { columnTypes, problems };
}

function isStringType(t: arrow.DataType): boolean {
  if (arrow.DataType.isDictionary(t)) return isStringType(t.dictionary);
  return arrow.DataType.isUtf8(t) || arrow.DataType.isLargeUtf8(t);
}

/** The type a dictionary's values have (its logical type); any other type as it is. */
function logicalType(t: string): string {
  return /^Dictionary<[^,]+, (.*)>$/.exec(t)?.[1] ?? t;
}
