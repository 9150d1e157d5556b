import {
  BatchscoreError,
  parseHivePartitions,
  splitObjectUri,
  withDate,
  type InputFile,
  type InputFormat,
  type ObjectStore,
  type ScoringJob,
  type StoreFactory,
} from '@batchscore/core';
import { EXTENSION_NAMES, isDataKey, isSkippedKey } from './inputFormats.js';

/**
 * Every data file below the input store's root (or the one file named), sorted by key so the plan is
 * deterministic. Hive `k=v` folders become partition values. `skipped`: the files left out for their extension
 * alone (`b.csv.gz` beside `a.csv`), not bookkeeping (`_SUCCESS`, `.crc`): they may be data the user meant.
 */
export async function listInput(
  store: ObjectStore,
  format: InputFormat,
  singleKey?: string,
): Promise<{ files: InputFile[]; skipped: string[] }> {
  const objects = singleKey !== undefined ? await headOne(store, singleKey) : await store.list('');
  const skipped = singleKey !== undefined ? [] : objects.filter((o) => isSkippedKey(o.key, format)).map((o) => o.key);
  const files = objects
    .filter((o) => singleKey !== undefined || isDataKey(o.key, format))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((o) => ({
      key: o.key,
      size: o.size,
      ...(o.version !== undefined ? { version: o.version } : {}),
      partitionValues: parseHivePartitions(o.key),
    }));
  if (files.length === 0) {
    const seen =
      objects.length > 0 ? ` (${objects.length} other object${objects.length === 1 ? '' : 's'} ignored)` : '';
    throw new BatchscoreError(
      'INPUT_NOT_FOUND',
      `${store.rootUri}: no ${format} files found${seen}; spec.input.format is ${format}`,
    );
  }
  return { files, skipped };
}

async function headOne(store: ObjectStore, key: string) {
  const info = await store.head(key);
  if (!info) throw new BatchscoreError('INPUT_NOT_FOUND', `${store.uriOf(key)}: input file does not exist`);
  return [info];
}

/**
 * The job's input for one date: the store of its folder (or of the one file's folder, for a file URI) and its
 * data files. `inputUri` is that folder, as the plan records it.
 */
export async function listJobInput(
  job: ScoringJob,
  batchDate: string,
  open: StoreFactory,
): Promise<{ store: ObjectStore; files: InputFile[]; skipped: string[]; inputUri: string }> {
  const { input } = job.spec;
  const uri = withDate(input.uri, batchDate);
  const single = uri.endsWith('/') ? undefined : splitObjectUri(uri);
  const store = open(single ? single.dir : uri);
  return { store, ...(await listInput(store, input.format, single?.name)), inputUri: single ? single.dir : uri };
}

/** Pure: the warning line for input files left out for their extension, naming the first few; undefined for none. */
export function skippedWarning(rootUri: string, format: InputFormat, skipped: readonly string[]): string | undefined {
  if (skipped.length === 0) return undefined;
  const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? `, and ${skipped.length - 5} more` : '');
  return (
    `${rootUri}: ${skipped.length} file${skipped.length === 1 ? '' : 's'} skipped, not named as ${format} ` +
    `(${EXTENSION_NAMES[format]}): ${shown}`
  );
}
