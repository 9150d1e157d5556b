import { BatchscoreError } from './errors.js';
import type { InputFile, PlanHeader, Shard, ShardFile, ShardPlan, ShardRecord } from './plan.js';
import type { ObjectStore } from './store/ObjectStore.js';

/**
 * A plan is four objects beside each other, named after the header's key (`…/plan.json`):
 *
 *   plan.json           the header (PlanHeader), compact JSON: the same few KiB at 10 or 100,000 shards
 *   plan.files.jsonl    every input file, one JSON line each (merge, inspect)
 *   plan.shards.jsonl   every shard as a self-contained ShardRecord, one JSON line each
 *   plan.shards.idx     fixed-width: line i is the byte offset of shard i's line, line N the file's length
 *
 * A score pod reads the header, 2 lines of the index and its own line: three small GETs whatever the shard count.
 * The header is written last, so a header always names the objects of its own plan; each record carries the plan
 * id, so a record of another plan (two plans of one run written at once) is refused rather than scored.
 */
export function planObjectKeys(headerKey: string): { header: string; files: string; shards: string; index: string } {
  if (!headerKey.endsWith('.json')) throw new RangeError(`a plan's key ends in .json: ${headerKey}`);
  const base = headerKey.slice(0, -'.json'.length);
  return {
    header: headerKey,
    files: `${base}.files.jsonl`,
    shards: `${base}.shards.jsonl`,
    index: `${base}.shards.idx`,
  };
}

/** Digits of one index entry (offsets up to 10^12 bytes), and its line's length with the newline. */
const OFFSET_DIGITS = 12;
const ENTRY_BYTES = OFFSET_DIGITS + 1;

/** Pure: the plan's header (everything but its files and shards). */
export function toPlanHeader(plan: ShardPlan): PlanHeader {
  const { files: _files, shards: _shards, ...header } = plan;
  return header;
}

/** Pure: shard `index` as a pod reads it, with only the parts of its files that reading its pieces needs. */
export function toShardRecord(plan: Pick<ShardPlan, 'planId' | 'files'>, shard: Shard): ShardRecord {
  const files: Record<number, ShardFile> = {};
  for (const p of shard.pieces) files[p.file] ??= toShardFile(plan.files[p.file]!);
  return { ...shard, planId: plan.planId, files };
}

function toShardFile(f: InputFile): ShardFile {
  return {
    key: f.key,
    size: f.size,
    ...(f.version !== undefined ? { version: f.version } : {}),
    partitionValues: f.partitionValues,
    ...(f.header ? { header: f.header } : {}),
    ...(f.tailStart !== undefined ? { tailStart: f.tailStart } : {}),
  };
}

/** Pure: the plan's four objects' bodies. */
export function toPlanObjects(plan: ShardPlan): { header: string; files: string; shards: string; index: string } {
  const enc = new TextEncoder();
  const lines: string[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (const s of plan.shards) {
    const line = JSON.stringify(toShardRecord(plan, s)) + '\n';
    offsets.push(at);
    lines.push(line);
    at += enc.encode(line).length;
  }
  offsets.push(at);
  return {
    header: JSON.stringify(toPlanHeader(plan)) + '\n',
    files: plan.files.map((f) => JSON.stringify(f) + '\n').join(''),
    shards: lines.join(''),
    index: offsets.map((o) => String(o).padStart(OFFSET_DIGITS, '0') + '\n').join(''),
  };
}

/** Writes the plan's objects at `headerKey` and its siblings: the files, shards and index first, the header last. */
export async function writePlanObjects(store: ObjectStore, headerKey: string, plan: ShardPlan): Promise<void> {
  const keys = planObjectKeys(headerKey);
  const bodies = toPlanObjects(plan);
  await Promise.all([
    store.put(keys.files, bodies.files),
    store.put(keys.shards, bodies.shards),
    store.put(keys.index, bodies.index),
  ]);
  await store.put(keys.header, bodies.header);
}

/** The plan's header: one GET. */
export async function readPlanHeader(store: ObjectStore, headerKey: string): Promise<PlanHeader> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(headerKey);
  } catch (err) {
    if (err instanceof BatchscoreError && err.code === 'STORE_NOT_FOUND') {
      throw new BatchscoreError(
        'INPUT_NOT_FOUND',
        `${store.uriOf(headerKey)}: no plan there; run \`batchscore plan\` first`,
        { cause: err },
      );
    }
    throw err;
  }
  const header = parseLine<PlanHeader>(new TextDecoder().decode(bytes), store.uriOf(headerKey));
  if (header?.kind !== 'ShardPlan')
    throw new BatchscoreError('INPUT_INVALID', `${store.uriOf(headerKey)}: not a batchscore shard plan`);
  if (typeof header.shardCount !== 'number' || 'shards' in header) {
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${store.uriOf(headerKey)}: a plan written by an older batchscore (it holds its shards ` +
        `inline); plan the run again`,
    );
  }
  return header;
}

/** One shard's record: two ranged GETs (its index entries, then its line), whatever the number of shards. */
export async function readShardRecord(
  store: ObjectStore,
  headerKey: string,
  header: PlanHeader,
  index: number,
): Promise<ShardRecord> {
  if (!Number.isInteger(index) || index < 0 || index >= header.shardCount) {
    throw new BatchscoreError(
      'USAGE',
      `shard ${index} does not exist: the plan has ${header.shardCount} shards (0-${header.shardCount - 1})`,
    );
  }
  const keys = planObjectKeys(headerKey);
  const entries = new TextDecoder().decode(
    await store.getRange(keys.index, index * ENTRY_BYTES, (index + 2) * ENTRY_BYTES),
  );
  const m = /^(\d{12})\n(\d{12})\n$/.exec(entries);
  if (!m)
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${store.uriOf(keys.index)}: entries ${index}-${index + 1} are not ${OFFSET_DIGITS}-digit offsets`,
    );
  const [start, end] = [Number(m[1]), Number(m[2])];
  const where = `${store.uriOf(keys.shards)} bytes ${start}-${end}`;
  const record = parseLine<ShardRecord>(new TextDecoder().decode(await store.getRange(keys.shards, start, end)), where);
  return checkRecord(record, header, index, where);
}

/** The whole plan (header, files, shards): for merge and for `run --local`'s workers, which read it once. */
export async function readPlan(store: ObjectStore, headerKey: string): Promise<ShardPlan> {
  const header = await readPlanHeader(store, headerKey);
  const keys = planObjectKeys(headerKey);
  const [filesText, shardsText] = await Promise.all(
    [store.get(keys.files), store.get(keys.shards)].map(async (p) => new TextDecoder().decode(await p)),
  );
  const files = jsonLines<InputFile>(filesText!, store.uriOf(keys.files));
  const shards = jsonLines<ShardRecord>(shardsText!, store.uriOf(keys.shards)).map((r, i) => {
    const { planId: _p, files: _f, ...shard } = checkRecord(r, header, i, `${store.uriOf(keys.shards)} line ${i + 1}`);
    return shard;
  });
  if (files.length !== header.fileCount || shards.length !== header.shardCount) {
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${store.uriOf(headerKey)}: the plan lists ${header.fileCount} files and ${header.shardCount} ` +
        `shards, its objects hold ${files.length} and ${shards.length}`,
    );
  }
  return { ...header, files, shards };
}

function checkRecord(record: ShardRecord, header: PlanHeader, index: number, where: string): ShardRecord {
  if (record?.index !== index || record.planId !== header.planId) {
    // Another plan of this run was written over this one meanwhile: a retry reads a consistent set.
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${where}: holds shard ${record?.index} of plan ${record?.planId}, not shard ${index} ` +
        `of plan ${header.planId}; the plan was rewritten while it was read`,
      { retryable: true },
    );
  }
  return record;
}

function parseLine<T>(text: string, where: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new BatchscoreError('INPUT_INVALID', `${where}: not valid JSON (${(err as Error).message})`);
  }
}

function jsonLines<T>(text: string, where: string): T[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l, i) => parseLine<T>(l, `${where} line ${i + 1}`));
}
