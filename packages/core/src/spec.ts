import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { toClusterSpec, type ClusterSpec } from './clusterSpec.js';
import { BatchscoreError } from './errors.js';
import { DEFAULT_QUARANTINE_DIR } from './keys.js';
import { prefixesOverlap } from './prefixesOverlap.js';

export const API_VERSION = 'batchscore.dev/v1alpha1';
export type InputFormat = 'parquet' | 'csv' | 'jsonl';

export interface ModelInputSpec {
  name: string;
  columns: string[];
}
export interface ModelOutputSpec {
  name: string;
  /** Picks one element of the output's last axis; without it the whole row is written as a list column. */
  index?: number;
  /**
   * Picks a class of a classifier's probabilities by its label rather than its position: for an output a ZipMap
   * makes (skl2onnx's default), whose node lists the labels. Not with `index`.
   */
  label?: string | number;
  column: string;
}

/** The job after parsing: every URI absolute, every default filled in. Plans carry it, so workers need no job file. */
export interface ScoringJob {
  apiVersion: typeof API_VERSION;
  kind: 'ScoringJob';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    /**
     * csv.delimiter: unset means by extension (tab for .tsv, else comma), see csvDelimiter. allowEmpty: an input with
     * no rows publishes a complete zero-row run instead of failing (set only when true).
     */
    input: { uri: string; format: InputFormat; csv: { delimiter?: string }; allowEmpty?: true };
    model: { uri: string; version: string; inputs: ModelInputSpec[]; outputs: ModelOutputSpec[] };
    /**
     * quarantineUri: where rows that are not scored are published, `{uri}_quarantine/` by default (inside the output,
     * so a policy that covers the output covers it; `_` keeps dataset readers out of it).
     */
    output: { uri: string; quarantineUri: string; passthrough: string[]; partitionBy: string[]; rowsPerPart: number };
    sharding: { rowsPerShard: number; bytesPerShard: number };
    /** device: auto = CUDA when it loads, else CPU with a warning; cuda = fail without it; cpu = never try. */
    worker: { batchSize: number | 'auto'; threads?: number; device: 'auto' | 'cuda' | 'cpu' };
    /** Region and credentials come from the standard AWS chain, never from the job file. */
    /** concurrency: most requests in flight for one batch of object-store requests (merge's commit reads and copies, say); default 64. */
    storage: { s3: { endpoint?: string; forcePathStyle?: boolean }; concurrency?: number };
    /** How the Argo Workflow runs it; defaults apply when the job file has no cluster section. */
    cluster: ClusterSpec;
    /**
     * Rows with a null, NaN or infinite feature, or a value outside `ranges`, are quarantined instead of scored;
     * more than `maxInvalidFraction` of the input quarantined fails the run.
     */
    validation: ValidationSpec;
    /** Where the workers and merge push Prometheus metrics (batch pods are too short-lived to scrape). */
    metrics: { pushgateway?: string };
    /** Prices for the manifest's cost section; without them the manifest has node-seconds but no money. */
    cost?: CostSpec;
    quality: QualitySpec;
    notify: { webhook?: { url?: string; urlFromEnv?: string } };
  };
}

export interface CostSpec {
  cpuNodeHour: number;
  gpuNodeHour: number;
  currency: string;
  /** Worker pods sharing one node: a pod is charged this share of the node's price. */
  workersPerNode: number;
}
export interface QualitySpec {
  psiThreshold: number;
  failOnDrift: boolean;
  /** How many earlier dates merge looks back for a baseline run (same job, same model version). */
  lookbackDays: number;
}

export interface ValueRange {
  min?: number;
  max?: number;
}
export interface ValidationSpec {
  ranges: Record<string, ValueRange>;
  maxInvalidFraction: number;
  /**
   * A null in a string feature (a model's tensor(string) input): quarantined by default; `empty` scores it as the
   * empty string, as scikit-learn's OneHotEncoder(handle_unknown="ignore") treats a category it never saw.
   */
  nullStrings?: 'empty';
}
export const DEFAULT_MAX_INVALID_FRACTION = 0.001;
/**
 * Requests in flight for one batch of object-store requests. S3 answers in 10-30 ms, so one at a time makes
 * 20,000 requests (merge of 10,000 shards) take 3-10 minutes; 64 at a time, seconds. 64 rather than 32 for the
 * planner too: 100,000 Parquet footers at 20 ms a request take 31 s 64 at a time, 62 s 32 at a time (past its
 * budget of a minute).
 */
export const DEFAULT_STORE_CONCURRENCY = 64;
export function storeConcurrency(job: ScoringJob): number {
  return job.spec.storage.concurrency ?? DEFAULT_STORE_CONCURRENCY;
}

export interface SpecProblem {
  path: string;
  message: string;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Reads and parses a job file; relative paths and `file:` URIs resolve against the file's folder. */
export async function readJobFile(file: string): Promise<ScoringJob> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BatchscoreError('SPEC_INVALID', `${file}: cannot read job file (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return parseJobSpec(text, { baseDir: path.dirname(path.resolve(file)), source: file });
}

/** Parses job YAML text. Collects every problem and throws them together, one line each. */
export function parseJobSpec(text: string, opts: { baseDir: string; source?: string }): ScoringJob {
  const source = opts.source ?? 'job';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = ` (line ${lineCounter.linePos(e.pos[0]).line})`;
    throw new BatchscoreError('SPEC_INVALID', `${source}: not valid YAML${line}: ${e.message.split('\n')[0]}`);
  }
  const { job, problems } = toScoringJob(toJS(doc, source), opts.baseDir);
  if (problems.length > 0 || !job) {
    // One self-contained line per problem, so each names the file, the field and the rule.
    throw new BatchscoreError('SPEC_INVALID', problems.map((p) => `${source}: ${p.path}: ${p.message}`).join('\n'));
  }
  return job;
}

/** The document as plain data; aliases that expand too far ("billion laughs") are a spec error, not a crash. */
function toJS(doc: ReturnType<typeof parseDocument>, source: string): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    if (/Excessive alias count/.test((err as Error)?.message ?? '')) {
      throw new BatchscoreError('SPEC_INVALID', `${source}: not valid YAML: its aliases expand to too many nodes (a "billion laughs" resource exhaustion attack?); use each anchor fewer times`);
    }
    throw err;
  }
}

/** Pure validation of an already-parsed document. */
export function toScoringJob(raw: unknown, baseDir: string): { job?: ScoringJob; problems: SpecProblem[] } {
  const problems: SpecProblem[] = [];
  const bad = (p: string, message: string) => problems.push({ path: p, message });

  const root = obj(raw, '', bad);
  if (!root) return { problems };
  known(root, '', ['apiVersion', 'kind', 'metadata', 'spec'], bad);
  if (root.apiVersion !== API_VERSION) bad('apiVersion', `expected "${API_VERSION}", got ${show(root.apiVersion)}`);
  if (root.kind !== 'ScoringJob') bad('kind', `expected "ScoringJob", got ${show(root.kind)}`);

  const meta = obj(root.metadata, 'metadata', bad) ?? {};
  const name = str(meta.name, 'metadata.name', bad);
  if (name !== undefined && (!NAME_RE.test(name) || name.length > 52)) {
    bad('metadata.name', `${show(name)} must be lowercase letters, digits and '-', start and end alphanumeric, at most 52 characters (it names Kubernetes objects)`);
  }
  const labels: Record<string, string> = {};
  if (meta.labels !== undefined) {
    const l = obj(meta.labels, 'metadata.labels', bad) ?? {};
    for (const [k, v] of Object.entries(l)) {
      if (typeof v !== 'string') bad(`metadata.labels.${k}`, `expected a string, got ${show(v)}`);
      else labels[k] = v;
    }
  }

  const spec = obj(root.spec, 'spec', bad) ?? {};
  known(spec, 'spec', ['input', 'model', 'output', 'sharding', 'worker', 'storage', 'cluster', 'validation', 'metrics', 'cost', 'quality', 'notify'], bad);

  const input = obj(spec.input, 'spec.input', bad) ?? {};
  known(input, 'spec.input', ['uri', 'format', 'csv', 'allowEmpty'], bad);
  const inputUri = uri(input.uri, 'spec.input.uri', baseDir, bad, 'auto');
  if (input.allowEmpty !== undefined && typeof input.allowEmpty !== 'boolean') bad('spec.input.allowEmpty', `expected true or false, got ${show(input.allowEmpty)}`);
  const allowEmpty = input.allowEmpty === true;
  let format: InputFormat = 'parquet';
  if (input.format !== undefined) {
    if (input.format === 'parquet' || input.format === 'csv' || input.format === 'jsonl') format = input.format;
    else bad('spec.input.format', `expected one of parquet, csv, jsonl, got ${show(input.format)}`);
  }
  let delimiter: string | undefined;
  if (input.csv !== undefined) {
    const csv = obj(input.csv, 'spec.input.csv', bad) ?? {};
    known(csv, 'spec.input.csv', ['delimiter'], bad);
    if (csv.delimiter !== undefined) {
      if (typeof csv.delimiter === 'string' && csv.delimiter.length === 1 && csv.delimiter !== '"' && csv.delimiter !== '\n') delimiter = csv.delimiter;
      else bad('spec.input.csv.delimiter', `expected one character other than '"' or newline, got ${show(csv.delimiter)}`);
    }
  }

  const model = obj(spec.model, 'spec.model', bad) ?? {};
  known(model, 'spec.model', ['uri', 'version', 'inputs', 'outputs'], bad);
  const modelUri = uri(model.uri, 'spec.model.uri', baseDir, bad, false);
  let version: string | undefined;
  if (typeof model.version === 'number') version = String(model.version);
  else version = str(model.version, 'spec.model.version', bad);
  if (version !== undefined && !VERSION_RE.test(version)) {
    bad('spec.model.version', `${show(version)} may hold only letters, digits, '.', '_' and '-' (it becomes a folder name)`);
  }
  const inputs: ModelInputSpec[] = [];
  const rawInputs = list(model.inputs, 'spec.model.inputs', bad);
  rawInputs?.forEach((ri, i) => {
    const p = `spec.model.inputs[${i}]`;
    const o = obj(ri, p, bad);
    if (!o) return;
    known(o, p, ['name', 'columns'], bad);
    const n = str(o.name, `${p}.name`, bad);
    const cols = columns(o.columns, `${p}.columns`, bad);
    if (n !== undefined && cols) inputs.push({ name: n, columns: cols });
  });
  dupes(inputs.map((x) => x.name), 'spec.model.inputs', 'name', bad);

  const outputs: ModelOutputSpec[] = [];
  const rawOutputs = list(model.outputs, 'spec.model.outputs', bad);
  rawOutputs?.forEach((ro, i) => {
    const p = `spec.model.outputs[${i}]`;
    const o = obj(ro, p, bad);
    if (!o) return;
    known(o, p, ['name', 'index', 'label', 'column'], bad);
    const n = str(o.name, `${p}.name`, bad);
    let index: number | undefined;
    if (o.index !== undefined) {
      if (Number.isInteger(o.index) && (o.index as number) >= 0) index = o.index as number;
      else bad(`${p}.index`, `expected a non-negative integer, got ${show(o.index)}`);
    }
    let label: string | number | undefined;
    if (o.label !== undefined) {
      if (typeof o.label === 'string' || Number.isInteger(o.label)) label = o.label as string | number;
      else bad(`${p}.label`, `expected a class label (a string or an integer), got ${show(o.label)}`);
      if (o.index !== undefined) bad(`${p}.label`, 'give index (a position) or label (a class), not both');
    }
    const column = str(o.column, `${p}.column`, bad);
    if (column !== undefined && !COLUMN_RE.test(column)) bad(`${p}.column`, `${show(column)} is not a valid column name`);
    if (n !== undefined && column !== undefined) outputs.push({ name: n, column, ...(index === undefined ? {} : { index }), ...(label === undefined ? {} : { label }) });
  });

  const output = obj(spec.output, 'spec.output', bad) ?? {};
  known(output, 'spec.output', ['uri', 'quarantineUri', 'passthrough', 'partitionBy', 'rowsPerPart'], bad);
  const outputUri = uri(output.uri, 'spec.output.uri', baseDir, bad, true);
  const quarantineUri = output.quarantineUri === undefined ? (outputUri === undefined ? undefined : outputUri + DEFAULT_QUARANTINE_DIR) : uri(output.quarantineUri, 'spec.output.quarantineUri', baseDir, bad, true);
  checkLocations(inputUri, outputUri, quarantineUri, output.quarantineUri !== undefined, bad);
  const passthrough = output.passthrough === undefined ? [] : columns(output.passthrough, 'spec.output.passthrough', bad, true) ?? [];
  const partitionBy = output.partitionBy === undefined ? [] : columns(output.partitionBy, 'spec.output.partitionBy', bad, true) ?? [];
  const rowsPerPart = posInt(output.rowsPerPart, 'spec.output.rowsPerPart', 1_000_000, bad);
  const outCols = [...passthrough, ...outputs.map((o) => o.column)];
  dupes(outCols, 'spec.output', 'column (passthrough and model output columns share one table)', bad);
  for (const [i, c] of partitionBy.entries()) {
    if (!passthrough.includes(c)) bad(`spec.output.partitionBy[${i}]`, `${show(c)} must also be listed in spec.output.passthrough`);
  }
  if (partitionBy.length > 0 && partitionBy.length === passthrough.length && outputs.length === 0) {
    bad('spec.output.partitionBy', 'leaves no columns in the data files');
  }

  const sharding = obj(spec.sharding ?? {}, 'spec.sharding', bad) ?? {};
  known(sharding, 'spec.sharding', ['rowsPerShard', 'bytesPerShard'], bad);
  const rowsPerShard = posInt(sharding.rowsPerShard, 'spec.sharding.rowsPerShard', 250_000, bad);
  const bytesPerShard = posInt(sharding.bytesPerShard, 'spec.sharding.bytesPerShard', 64 * 1024 * 1024, bad);

  const worker = obj(spec.worker ?? {}, 'spec.worker', bad) ?? {};
  known(worker, 'spec.worker', ['batchSize', 'threads', 'device'], bad);
  // Rows per model run: 'auto' lets each worker measure a few sizes on its first rows and keep the fastest.
  const batchSize = worker.batchSize === 'auto' ? 'auto' : posInt(worker.batchSize, 'spec.worker.batchSize', 0, bad) || 'auto';
  let device: 'auto' | 'cuda' | 'cpu' = 'auto';
  if (worker.device !== undefined) {
    if (worker.device === 'auto' || worker.device === 'cuda' || worker.device === 'cpu') device = worker.device;
    else bad('spec.worker.device', `expected one of auto, cuda, cpu, got ${show(worker.device)}`);
  }
  const threads = worker.threads === undefined ? undefined : posInt(worker.threads, 'spec.worker.threads', 1, bad);

  const storage = obj(spec.storage ?? {}, 'spec.storage', bad) ?? {};
  known(storage, 'spec.storage', ['s3', 'concurrency'], bad);
  const concurrency = storage.concurrency === undefined ? undefined : posInt(storage.concurrency, 'spec.storage.concurrency', DEFAULT_STORE_CONCURRENCY, bad);
  const s3 = obj(storage.s3 ?? {}, 'spec.storage.s3', bad) ?? {};
  known(s3, 'spec.storage.s3', ['endpoint', 'forcePathStyle'], bad);
  const endpoint = s3.endpoint === undefined ? undefined : str(s3.endpoint, 'spec.storage.s3.endpoint', bad);
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) bad('spec.storage.s3.endpoint', `expected an http(s):// URL, got ${show(endpoint)}`);
  let forcePathStyle: boolean | undefined;
  if (s3.forcePathStyle !== undefined) {
    if (typeof s3.forcePathStyle === 'boolean') forcePathStyle = s3.forcePathStyle;
    else bad('spec.storage.s3.forcePathStyle', `expected true or false, got ${show(s3.forcePathStyle)}`);
  }

  const cluster = toClusterSpec(spec.cluster, bad);
  const validation = toValidationSpec(spec.validation, bad);
  const metrics = obj(spec.metrics ?? {}, 'spec.metrics', bad) ?? {};
  known(metrics, 'spec.metrics', ['pushgateway'], bad);
  const pushgateway = metrics.pushgateway === undefined ? undefined : httpUrl(metrics.pushgateway, 'spec.metrics.pushgateway', bad);
  const cost = spec.cost === undefined ? undefined : toCostSpec(spec.cost, bad);
  const quality = toQualitySpec(spec.quality, bad);
  const notify = toNotifySpec(spec.notify, bad);

  if (problems.length > 0) return { problems };
  return {
    problems,
    job: {
      apiVersion: API_VERSION,
      kind: 'ScoringJob',
      metadata: { name: name!, labels },
      spec: {
        input: { uri: inputUri!, format, csv: delimiter === undefined ? {} : { delimiter }, ...(allowEmpty ? { allowEmpty } : {}) },
        model: { uri: modelUri!, version: version!, inputs, outputs },
        output: { uri: outputUri!, quarantineUri: quarantineUri!, passthrough, partitionBy, rowsPerPart },
        sharding: { rowsPerShard, bytesPerShard },
        worker: { batchSize, ...(threads === undefined ? {} : { threads }), device },
        storage: {
          s3: { ...(endpoint === undefined ? {} : { endpoint }), ...(forcePathStyle === undefined ? {} : { forcePathStyle }) },
          ...(concurrency === undefined ? {} : { concurrency }),
        },
        cluster,
        validation,
        metrics: pushgateway === undefined ? {} : { pushgateway },
        ...(cost ? { cost } : {}),
        quality,
        notify,
      },
    },
  };
}

/**
 * Output and quarantine must not overlap the input for any date: each later date would read the earlier dates'
 * outputs and bookkeeping as input, and the input folder would change. A quarantine inside the output must sit in a
 * `_`-prefixed folder of its own, which dataset readers of the output skip.
 */
function checkLocations(input: string | undefined, output: string | undefined, quarantine: string | undefined, quarantineSet: boolean, bad: Bad): void {
  if (input === undefined || output === undefined) return;
  if (prefixesOverlap(input, output)) {
    bad('spec.output.uri', `${show(output)} overlaps spec.input.uri ${show(input)} (one is inside the other): output would be read back as input; choose an output folder outside the input`);
  }
  if (!quarantineSet || quarantine === undefined) return;
  if (prefixesOverlap(input, quarantine)) {
    bad('spec.output.quarantineUri', `${show(quarantine)} overlaps spec.input.uri ${show(input)} (one is inside the other); choose a folder outside the input`);
  }
  if (output.startsWith(quarantine)) {
    bad('spec.output.quarantineUri', `${show(quarantine)} contains spec.output.uri ${show(output)}; quarantined rows would be read as output`);
  } else if (quarantine.startsWith(output)) {
    const first = quarantine.slice(output.length).split('/')[0]!;
    if (!first.startsWith('_') || first === '_batchscore') {
      bad('spec.output.quarantineUri', `${show(quarantine)} is inside spec.output.uri, so its first folder below the output must start with '_' (dataset readers skip those) and not be _batchscore; got ${show(first)}`);
    }
  }
}

function httpUrl(v: unknown, p: string, bad: Bad): string | undefined {
  const s = str(v, p, bad);
  if (s !== undefined && !/^https?:\/\/[^/\s]+/.test(s)) {
    bad(p, `expected an http(s):// URL, got ${show(s)}`);
    return undefined;
  }
  return s;
}

function nonNegative(v: unknown, p: string, dflt: number, bad: Bad): number {
  if (v === undefined) return dflt;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  bad(p, `expected a number ≥ 0, got ${show(v)}`);
  return dflt;
}

function toCostSpec(raw: unknown, bad: Bad): CostSpec | undefined {
  const c = obj(raw, 'spec.cost', bad);
  if (!c) return undefined;
  known(c, 'spec.cost', ['cpuNodeHour', 'gpuNodeHour', 'currency', 'workersPerNode'], bad);
  if (c.cpuNodeHour === undefined && c.gpuNodeHour === undefined) bad('spec.cost', 'needs cpuNodeHour, gpuNodeHour or both (price per node-hour)');
  const currency = c.currency === undefined ? 'USD' : str(c.currency, 'spec.cost.currency', bad) ?? 'USD';
  return {
    cpuNodeHour: nonNegative(c.cpuNodeHour, 'spec.cost.cpuNodeHour', 0, bad),
    gpuNodeHour: nonNegative(c.gpuNodeHour, 'spec.cost.gpuNodeHour', 0, bad),
    currency,
    workersPerNode: posInt(c.workersPerNode, 'spec.cost.workersPerNode', 1, bad),
  };
}

function toQualitySpec(raw: unknown, bad: Bad): QualitySpec {
  const q = obj(raw ?? {}, 'spec.quality', bad) ?? {};
  known(q, 'spec.quality', ['psiThreshold', 'failOnDrift', 'lookbackDays'], bad);
  let failOnDrift = false;
  if (q.failOnDrift !== undefined) {
    if (typeof q.failOnDrift === 'boolean') failOnDrift = q.failOnDrift;
    else bad('spec.quality.failOnDrift', `expected true or false, got ${show(q.failOnDrift)}`);
  }
  return {
    psiThreshold: nonNegative(q.psiThreshold, 'spec.quality.psiThreshold', 0.2, bad),
    failOnDrift,
    lookbackDays: posInt(q.lookbackDays, 'spec.quality.lookbackDays', 7, bad),
  };
}

function toNotifySpec(raw: unknown, bad: Bad): { webhook?: { url?: string; urlFromEnv?: string } } {
  const n = obj(raw ?? {}, 'spec.notify', bad) ?? {};
  known(n, 'spec.notify', ['webhook'], bad);
  if (n.webhook === undefined) return {};
  // Chat webhooks carry their secret in the URL: urlFromEnv keeps it out of the job file (a Secret in the cluster).
  const w = typeof n.webhook === 'string' ? { url: n.webhook } : obj(n.webhook, 'spec.notify.webhook', bad);
  if (!w) return {};
  known(w, 'spec.notify.webhook', ['url', 'urlFromEnv'], bad);
  if ((w.url === undefined) === (w.urlFromEnv === undefined)) {
    bad('spec.notify.webhook', 'needs exactly one of url or urlFromEnv');
    return {};
  }
  if (w.url !== undefined) {
    const url = httpUrl(w.url, 'spec.notify.webhook.url', bad);
    return url === undefined ? {} : { webhook: { url } };
  }
  const env = str(w.urlFromEnv, 'spec.notify.webhook.urlFromEnv', bad);
  if (env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) bad('spec.notify.webhook.urlFromEnv', `${show(env)} is not an environment variable name`);
  return env === undefined ? {} : { webhook: { urlFromEnv: env } };
}

function toValidationSpec(raw: unknown, bad: Bad): ValidationSpec {
  const v = obj(raw ?? {}, 'spec.validation', bad) ?? {};
  known(v, 'spec.validation', ['ranges', 'maxInvalidFraction', 'nullStrings'], bad);
  if (v.nullStrings !== undefined && v.nullStrings !== 'quarantine' && v.nullStrings !== 'empty') {
    bad('spec.validation.nullStrings', `expected quarantine (the default) or empty, got ${show(v.nullStrings)}`);
  }
  let maxInvalidFraction = DEFAULT_MAX_INVALID_FRACTION;
  if (v.maxInvalidFraction !== undefined) {
    const f = v.maxInvalidFraction;
    if (typeof f === 'number' && f >= 0 && f <= 1) maxInvalidFraction = f;
    else bad('spec.validation.maxInvalidFraction', `expected a number from 0 to 1 (a fraction of the input rows), got ${show(f)}`);
  }
  const ranges: Record<string, ValueRange> = {};
  const r = obj(v.ranges ?? {}, 'spec.validation.ranges', bad) ?? {};
  for (const [col, rr] of Object.entries(r)) {
    const p = `spec.validation.ranges.${col}`;
    if (!COLUMN_RE.test(col)) bad(p, `${show(col)} is not a valid column name`);
    const o = obj(rr, p, bad);
    if (!o) continue;
    known(o, p, ['min', 'max'], bad);
    const range: ValueRange = {};
    for (const k of ['min', 'max'] as const) {
      if (o[k] === undefined) continue;
      if (typeof o[k] === 'number' && Number.isFinite(o[k])) range[k] = o[k] as number;
      else bad(`${p}.${k}`, `expected a finite number, got ${show(o[k])}`);
    }
    if (range.min === undefined && range.max === undefined) bad(p, 'needs min, max or both');
    else if (range.min !== undefined && range.max !== undefined && range.min > range.max) bad(p, `min ${range.min} is greater than max ${range.max}`);
    ranges[col] = range;
  }
  return { ranges, maxInvalidFraction, ...(v.nullStrings === 'empty' ? { nullStrings: 'empty' as const } : {}) };
}

type Bad = (path: string, message: string) => void;
type Obj = Record<string, unknown>;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function obj(v: unknown, p: string, bad: Bad): Obj | undefined {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  bad(p || '(document)', v === undefined ? 'is required' : `expected a mapping, got ${show(v)}`);
  return undefined;
}

function known(o: Obj, p: string, keys: string[], bad: Bad): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) bad(p ? `${p}.${k}` : k, `unknown field (expected one of ${keys.join(', ')})`);
  }
}

function str(v: unknown, p: string, bad: Bad): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v;
  bad(p, v === undefined ? 'is required' : `expected a non-empty string, got ${show(v)}`);
  return undefined;
}

function list(v: unknown, p: string, bad: Bad): unknown[] | undefined {
  if (Array.isArray(v) && v.length > 0) return v;
  bad(p, v === undefined ? 'is required' : `expected a non-empty list, got ${show(v)}`);
  return undefined;
}

function columns(v: unknown, p: string, bad: Bad, allowEmpty = false): string[] | undefined {
  if (!Array.isArray(v) || (!allowEmpty && v.length === 0) || !v.every((c) => typeof c === 'string' && c !== '')) {
    bad(p, `expected a ${allowEmpty ? '' : 'non-empty '}list of column names, got ${show(v)}`);
    return undefined;
  }
  const cols = v as string[];
  cols.forEach((c, i) => {
    if (!COLUMN_RE.test(c)) bad(`${p}[${i}]`, `${show(c)} is not a valid column name (letters, digits, '_', '.', '-'; not starting with a digit)`);
  });
  dupes(cols, p, 'column', bad);
  return cols;
}

function dupes(names: string[], p: string, what: string, bad: Bad): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) bad(p, `${what} ${show(n)} appears more than once`);
    seen.add(n);
  }
}

function posInt(v: unknown, p: string, dflt: number, bad: Bad): number {
  if (v === undefined) return dflt;
  if (Number.isSafeInteger(v) && (v as number) > 0) return v as number;
  bad(p, `expected a positive integer, got ${show(v)}`);
  return dflt;
}

/**
 * Resolves a URI from the job file: s3:// stays; file: URIs and plain paths become absolute file:// URIs,
 * relative ones against the job file's folder. Folders (inputs, outputs) get a trailing '/'.
 */
function uri(v: unknown, p: string, baseDir: string, bad: Bad, folder: boolean | 'auto'): string | undefined {
  const s = str(v, p, bad);
  if (s === undefined) return undefined;
  const r = resolveUri(s, baseDir, folder);
  if ('error' in r) {
    bad(p, r.error);
    return undefined;
  }
  return r.uri;
}

/** `folder: 'auto'` (inputs): a folder unless the last segment has a data file's extension. */
export function resolveUri(s: string, baseDir: string, folderOpt: boolean | 'auto'): { uri: string } | { error: string } {
  const folder = folderOpt === 'auto' ? !/\.(parquet|parq|pq|csv|tsv|jsonl|ndjson|json)$/i.test(s) : folderOpt;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
  const scheme = m?.[1]?.toLowerCase();
  const slash = (u: string) => (folder && !u.endsWith('/') ? u + '/' : u);
  if (scheme === 's3') {
    const mm = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(s);
    if (!mm) return { error: `${show(s)} is not a valid s3://bucket/key URI` };
    if (!folder && (!mm[2] || mm[2].endsWith('/'))) return { error: `${show(s)} must name an object, not a folder` };
    return { uri: slash(mm[2] ? s : s + '/') };
  }
  if (scheme === 'file' || scheme === undefined || /^[a-zA-Z]:[\\/]/.test(s)) {
    let p = scheme === 'file' ? s.replace(/^file:(\/\/)?/, '') : s;
    if (scheme === 'file' && s.startsWith('file://') && !s.startsWith('file:///')) {
      return { error: `${show(s)}: file URIs with a host are not supported; use file:///absolute/path or a relative path` };
    }
    // Only URIs are %-encoded; a plain path means exactly what it says ("100%/" included).
    if (scheme === 'file') {
      try {
        p = decodeURIComponent(p);
      } catch {
        return { error: `${show(s)} has a malformed %-escape` };
      }
    }
    const abs = path.resolve(baseDir, p);
    if (!folder && s.endsWith('/')) return { error: `${show(s)} must name a file, not a folder` };
    // '{' of "{date}" must survive until the date is known; everything else ('#', '?', '%') is escaped.
    return { uri: slash(pathToFileURL(abs).href.replace(/%7B/g, '{').replace(/%7D/g, '}')) };
  }
  return { error: `unknown URI scheme "${scheme}:" in ${show(s)}: expected s3://, file:// or a path` };
}

/** Substitutes "{date}" in the input URI. */
export function withDate(uriTemplate: string, date: string): string {
  return uriTemplate.split('{date}').join(date);
}

export function isValidDate(d: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) return false;
  const t = new Date(d + 'T00:00:00Z');
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
}

