import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  noRows,
  csvDelimiter,
  mapLimit,
  planKey,
  CSV_HEADER_MAX_BYTES,
  readCsvHeaderRecord,
  readParquetFooter,
  runId,
  hashModel,
  modelId,
  runKeyOf,
  sha256Hex,
  splitObjectUri,
  storeConcurrency,
  takeLease,
  writePlanObjects,
  type InputFile,
  type ObjectStore,
  type ScoringJob,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { checkInputColumns, type FileColumns } from './checkInputColumns.js';
import { checkModelFile } from './checkModelFile.js';
import { checkShardCount } from './checkShardCount.js';
import { listJobInput, skippedWarning } from './listInput.js';
import { planShards } from './planShards.js';

/** Lists the input, reads only footers (Parquet) or headers (CSV), hashes the model and cuts shards. */
export async function createPlan(
  job: ScoringJob,
  batchDate: string,
  open: StoreFactory,
  now = new Date(),
  opts: { warn?: (line: string) => void } = {},
): Promise<ShardPlan> {
  const { input, model } = job.spec;
  const { store: inputStore, files, skipped, inputUri } = await listJobInput(job, batchDate, open);
  const skippedLine = skippedWarning(inputStore.rootUri, input.format, skipped);
  if (skippedLine) opts.warn?.(skippedLine);

  // Footers and headers are fetched concurrently but checked in file order, so the same input always gives the same
  // error. Files that share a schema share one FileColumns: 100,000 retained Arrow schemas took 270 MB.
  const columns = new Map<InputFile, FileColumns>();
  const shared = new Map<string, FileColumns>();
  const intern = (key: string, make: () => FileColumns) => shared.get(key) ?? shared.set(key, make()).get(key)!;
  const concurrency = storeConcurrency(job);
  if (input.format === 'parquet') {
    await mapLimit(files, concurrency, async (f) => {
      const { fields } = await readFooter(inputStore, f);
      columns.set(
        f,
        intern(fields.map((x) => `${x.name}:${String(x.type)}`).join('\n'), () => ({ fields })),
      );
    });
  } else if (input.format === 'csv') {
    await mapLimit(files, concurrency, async (f) => {
      const header = await readCsvHeader(inputStore, f, input.csv.delimiter);
      columns.set(
        f,
        intern(JSON.stringify(header), () => ({ header })),
      );
    });
  }
  const checked = files.map((f) => ({
    uri: inputStore.uriOf(f.key),
    file: f,
    ...(columns.has(f) ? { columns: columns.get(f)! } : {}),
  }));
  const { columnTypes, problems } = checkInputColumns(job, input.format, checked);
  // Only the first: a column missing from 10,000 files is one fact, not 10,000 lines (validate lists a few files' all).
  if (problems.length > 0) throw new BatchscoreError('INPUT_INVALID', problems[0]!);

  const missingModel = await checkModelFile(open, model.uri);
  if (missingModel.length > 0) throw new BatchscoreError('MODEL_INVALID', missingModel.join('\n'));
  const modelRef = splitObjectUri(model.uri);
  // Every byte the model is: its file and the external data files beside it.
  const identity = await hashModel(open(modelRef.dir), modelRef.name, model.uri);
  const id = modelId(identity);

  let shards = planShards(files, input.format, job.spec.sharding);
  const tooMany = checkShardCount(shards.length, job, input.format);
  if (tooMany) throw new BatchscoreError('SPEC_INVALID', `${inputStore.rootUri}: ${tooMany}`);
  const totalRows = input.format === 'parquet' ? shards.reduce((s, x) => s + (x.rows ?? 0), 0) : null;
  if (totalRows === 0 || shards.length === 0) {
    if (!input.allowEmpty) throw new BatchscoreError('INPUT_INVALID', noRows(inputStore.rootUri, files.length));
    // One shard with nothing to read: every stage (and Argo's fan-out) runs as for any input, and merge publishes 0
    // rows.
    if (shards.length === 0) shards = [{ index: 0, pieces: [], rows: input.format === 'parquet' ? 0 : null }];
  }
  const run = runKeyOf(job, batchDate);
  const planId = sha256Hex(JSON.stringify({ files, shards, sha256: id, job: shapingSpec(job) })).slice(0, 16);
  return {
    apiVersion: 'batchscore.dev/v1alpha1',
    kind: 'ShardPlan',
    runId: runId(job.metadata.name, run, id),
    planId,
    batchDate,
    job,
    inputUri,
    format: input.format,
    model: { uri: model.uri, version: model.version, ...identity },
    columnTypes,
    totalRows,
    shardCount: shards.length,
    fileCount: files.length,
    ...(skipped.length > 0 ? { skippedFileCount: skipped.length } : {}),
    inputBytes: files.reduce((n, f) => n + f.size, 0),
    createdAt: now.toISOString(),
    files,
    shards,
  };
}

/**
 * Takes the output folder for this run (the lease: takeLease), then writes the plan, both in the bookkeeping store
 * (`books`: outputLayout). Another model under the same version is refused before anything is written, unless
 * `force`.
 */
export async function writePlan(books: ObjectStore, plan: ShardPlan, opts: { force?: boolean } = {}): Promise<string> {
  const run = runKeyOf(plan);
  await takeLease(books, run, { runId: plan.runId, planId: plan.planId, takenAt: plan.createdAt }, opts);
  const key = planKey(run);
  await writePlanObjects(books, key, plan);
  return books.uriOf(key);
}

/**
 * The parts of the spec that decide what a shard writes. A committed shard is reused by a rerun only under the same
 * plan id, so changing a report setting (metrics, cost, quality, notify, cluster) or the invalid-row limit (a merge
 * decision) does not rescore anything, while changing the model binding, output layout, ranges or device does.
 */
function shapingSpec(job: ScoringJob): unknown {
  const { input, model, output, sharding, validation, worker } = job.spec;
  return { input, model, output, sharding, ranges: validation.ranges, device: worker.device };
}

/**
 * Reads one Parquet footer, once: the file's schema, and what planning and workers need of it, kept on the file: its
 * row groups' rows and bytes, and where its tail starts (so a worker never searches for the footer again).
 */
export async function readFooter(store: ObjectStore, f: InputFile): Promise<arrow.Schema> {
  const footer = await readParquetFooter(store, f.key, f.size);
  f.rowGroups = footer.rowGroups;
  f.rowGroupBytes = footer.rowGroupBytes;
  if (footer.tailStart !== undefined) f.tailStart = footer.tailStart;
  return footer.schema;
}

/**
 * Reads one CSV header (kept on the file: workers find columns by it) and returns its names, exactly as the
 * worker's parser reads records (readCsvRecords): quoted names may hold the delimiter, quotes and line breaks.
 */
export async function readCsvHeader(
  store: ObjectStore,
  f: InputFile,
  delimiter: string | undefined,
): Promise<string[]> {
  const uri = store.uriOf(f.key);
  if (f.size === 0) throw new BatchscoreError('INPUT_INVALID', `${uri}: empty CSV file (no header line)`);
  const header = await readCsvHeaderRecord(store, f.key, f.size, csvDelimiter(f.key, delimiter), uri);
  if (!header) {
    const where = f.size > CSV_HEADER_MAX_BYTES ? ` in its first ${CSV_HEADER_MAX_BYTES} bytes` : '';
    throw new BatchscoreError('INPUT_INVALID', `${uri}: no header line (only blank lines${where})`);
  }
  f.header = header;
  return f.header;
}
