import * as arrow from 'apache-arrow';
import {
  BatchscoreError,
  arrowSchemaOf,
  isNumericType,
  openParquet,
  lockKey,
  mapLimit,
  numericColumns,
  readColumns,
  planKey,
  runId,
  sha256Hex,
  sha256Of,
  splitObjectUri,
  toJsonText,
  withDate,
  type InputFile,
  type ObjectStore,
  type ScoringJob,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { listInput } from './listInput.js';
import { planShards } from './planShards.js';

const FOOTER_CONCURRENCY = 8;

/** Lists the input, reads only footers (Parquet) or headers (CSV), hashes the model and cuts shards. */
export async function createPlan(job: ScoringJob, batchDate: string, open: StoreFactory, now = new Date()): Promise<ShardPlan> {
  const { input, model } = job.spec;
  const inputUri = withDate(input.uri, batchDate);
  const single = inputUri.endsWith('/') ? undefined : splitObjectUri(inputUri);
  const inputStore = open(single ? single.dir : inputUri);
  const files = await listInput(inputStore, input.format, single?.name);

  // Columns with a validation range are checked as numbers, so they must be numeric like features.
  const featureCols = numericColumns(job);
  const needed = readColumns(job);
  const columnTypes: Record<string, string> = {};
  for (const col of needed) {
    const inParts = files.filter((f) => col in f.partitionValues).length;
    if (inParts > 0 && inParts < files.length) {
      const f = files.find((x) => !(col in x.partitionValues))!;
      throw new BatchscoreError('INPUT_INVALID', `${inputStore.uriOf(f.key)}: column "${col}" is a hive partition folder for some files but not this one`);
    }
    if (inParts > 0) columnTypes[col] = 'Utf8';
  }
  for (const col of featureCols) {
    if (columnTypes[col] === 'Utf8') throw new BatchscoreError('INPUT_INVALID', `column "${col}" comes from hive partition folders (strings) and cannot be a model feature or have a spec.validation range`);
  }
  const fileCols = needed.filter((c) => columnTypes[c] === undefined);

  if (input.format === 'parquet') {
    // Footers are fetched concurrently but checked in file order, so the same input always gives the same error.
    const schemas = new Map<InputFile, arrow.Schema>();
    await mapLimit(files, FOOTER_CONCURRENCY, async (f) => void schemas.set(f, await readFooter(inputStore, f)));
    for (const f of files) checkSchema(inputStore, f, schemas.get(f)!, fileCols, featureCols, columnTypes);
  } else if (input.format === 'csv') {
    await mapLimit(files, FOOTER_CONCURRENCY, (f) => readCsvHeader(inputStore, f, fileCols, job.spec.input.csv.delimiter));
    for (const c of fileCols) columnTypes[c] = featureCols.includes(c) ? 'Float64' : 'Utf8';
  } else {
    for (const c of fileCols) columnTypes[c] = featureCols.includes(c) ? 'Float64' : 'Utf8';
  }

  const modelRef = splitObjectUri(model.uri);
  const modelStore = open(modelRef.dir);
  if (!(await modelStore.head(modelRef.name))) throw new BatchscoreError('MODEL_INVALID', `${model.uri}: model file does not exist (spec.model.uri)`);
  const { sha256, bytes } = await sha256Of(modelStore, modelRef.name);

  const shards = planShards(files, input.format, job.spec.sharding);
  const totalRows = input.format === 'parquet' ? shards.reduce((s, x) => s + (x.rows ?? 0), 0) : null;
  if (totalRows === 0 || shards.length === 0) {
    throw new BatchscoreError('INPUT_INVALID', `${inputStore.rootUri}: the input has no rows (${files.length} file${files.length === 1 ? '' : 's'})`);
  }
  const run = { batchDate, modelVersion: model.version };
  const planId = sha256Hex(JSON.stringify({ files, shards, sha256, job: shapingSpec(job) })).slice(0, 16);
  return {
    apiVersion: 'batchscore.dev/v1alpha1',
    kind: 'ShardPlan',
    runId: runId(job.metadata.name, run, sha256),
    planId,
    batchDate,
    job,
    inputUri: single ? single.dir : inputUri,
    format: input.format,
    model: { uri: model.uri, version: model.version, sha256, bytes },
    files,
    columnTypes,
    totalRows,
    shards,
    createdAt: now.toISOString(),
  };
}

/**
 * Takes the output folder for this run, then writes the plan. The lease is an exclusive create holding the run id:
 * a rerun of the same run (after a crash, say) passes; a run with another model under the same version is refused
 * before it writes anything, unless `force`, since both would stage and publish under the same keys.
 */
export async function writePlan(outputStore: ObjectStore, plan: ShardPlan, opts: { force?: boolean } = {}): Promise<string> {
  const run = { batchDate: plan.batchDate, modelVersion: plan.model.version };
  const lock = lockKey(run);
  const body = JSON.stringify({ runId: plan.runId, planId: plan.planId, takenAt: plan.createdAt });
  if (!(await outputStore.putIfAbsent(lock, body))) {
    const holder = (JSON.parse(new TextDecoder().decode(await outputStore.get(lock))) as { runId?: string }).runId;
    if (holder !== plan.runId) {
      if (!opts.force) {
        throw new BatchscoreError(
          'RUN_CONFLICT',
          `${outputStore.uriOf(lock)}: this output is held by run ${holder}, not ${plan.runId} (another model under version ${plan.model.version}); wait for it, or --force to take it over`,
        );
      }
      await outputStore.put(lock, body);
    }
  }
  const key = planKey(run);
  await outputStore.put(key, toJsonText(plan));
  return outputStore.uriOf(key);
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

async function readFooter(store: ObjectStore, f: InputFile): Promise<arrow.Schema> {
  const pf = await openParquet(store, f.key);
  try {
    f.rowGroups = pf.metadata().rowGroups().map((rg) => rg.numRows());
    return arrowSchemaOf(pf);
  } finally {
    pf.free();
  }
}

function checkSchema(store: ObjectStore, f: InputFile, schema: arrow.Schema, fileCols: string[], featureCols: string[], types: Record<string, string>) {
  for (const col of fileCols) {
    const field = schema.fields.find((x) => x.name === col);
    const where = `${store.uriOf(f.key)}: column "${col}"`;
    if (!field) {
      throw new BatchscoreError('INPUT_INVALID', `${where} not found (the file has ${schema.fields.map((x) => x.name).join(', ')})`);
    }
    if (featureCols.includes(col) && !isNumericType(field.type)) {
      throw new BatchscoreError('INPUT_INVALID', `${where} is ${field.type}, but model features and columns with a spec.validation range must be numeric`);
    }
    const t = typeName(field.type);
    if (types[col] === undefined) types[col] = t;
    else if (types[col] !== t) {
      throw new BatchscoreError('INPUT_INVALID', `${where} is ${t}, but earlier input files have ${types[col]}; all files must share a schema`);
    }
  }
}

function typeName(t: arrow.DataType): string {
  // Dictionary-encoded strings read back as plain strings; the logical type is what must match.
  return arrow.DataType.isDictionary(t) ? String(t.dictionary) : String(t);
}

async function readCsvHeader(store: ObjectStore, f: InputFile, fileCols: string[], delimiter: string) {
  if (f.size === 0) throw new BatchscoreError('INPUT_INVALID', `${store.uriOf(f.key)}: empty CSV file (no header line)`);
  const head = new TextDecoder().decode(await store.getRange(f.key, 0, Math.min(f.size, 1 << 20)));
  const nl = head.indexOf('\n');
  if (nl < 0 && f.size > 1 << 20) throw new BatchscoreError('INPUT_INVALID', `${store.uriOf(f.key)}: no header line in the first MiB`);
  const line = (nl < 0 ? head : head.slice(0, nl)).replace(/\r$/, '').replace(/^\uFEFF/, '');
  f.header = line.split(delimiter).map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
  for (const col of fileCols) {
    if (!f.header.includes(col)) {
      throw new BatchscoreError('INPUT_INVALID', `${store.uriOf(f.key)}: column "${col}" not found in the CSV header (${f.header.join(', ')})`);
    }
  }
}
