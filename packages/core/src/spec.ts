import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { clusterSchema, ENV_NAME } from './clusterSpec.js';
import { BatchscoreError } from './errors.js';
import { DEFAULT_QUARANTINE_DIR } from './keys.js';
import { prefixesOverlap } from './prefixesOverlap.js';
import { resolveUri, uriJsonSchema } from './resolveUri.js';
import {
  anyOf,
  bool,
  describe,
  int,
  list,
  literal,
  map,
  num,
  object,
  oneOf,
  optional,
  posInt,
  record,
  str,
  withDefault,
  type Loose,
  type Refiner,
  type Static,
} from './schema/node.js';
import { show } from './schema/show.js';
import { validateNode, type SpecProblem } from './schema/validateNode.js';

export { resolveUri } from './resolveUri.js';
export type { SpecProblem } from './schema/validateNode.js';

export const API_VERSION = 'batchscore.dev/v1alpha1';
export const INPUT_FORMATS = ['parquet', 'csv', 'jsonl'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];
/** auto = CUDA when it loads, else CPU with a warning; cuda = fail without it; cpu = never try. */
export const DEVICES = ['auto', 'cuda', 'cpu'] as const;
export type Device = (typeof DEVICES)[number];

export const DEFAULT_MAX_INVALID_FRACTION = 0.001;
/**
 * Requests in flight for one batch of object-store requests. S3 answers in 10-30 ms, so one at a time makes
 * 20,000 requests (merge of 10,000 shards) take 3-10 minutes; 64 at a time, seconds. 64 rather than 32 for the
 * planner too: 100,000 Parquet footers at 20 ms a request take 31 s 64 at a time, 62 s 32 at a time (past its
 * budget of a minute).
 */
export const DEFAULT_STORE_CONCURRENCY = 64;

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/**
 * A column may be named anything Parquet and CSV allow (`Annual Income`, `income, usd`, unicode, quotes): any
 * text but the empty string. Names starting with RESERVED_COLUMN_PREFIX are batchscore's own (the columns a text
 * reader adds to a batch).
 */
const COLUMN_RE = /^[\s\S]+$/;
export const RESERVED_COLUMN_PREFIX = '__batchscore_';
const reservedColumn = (s: string): { value: string } | { error: string } =>
  s.startsWith(RESERVED_COLUMN_PREFIX)
    ? {
        error:
          `${show(s)} is not a valid column name: names starting with ${RESERVED_COLUMN_PREFIX} are ` +
          `batchscore's own`,
      }
    : { value: s };
/** Also a Kubernetes label value (batchscore.dev/model-version): alphanumeric at both ends, at most 63 characters. */
const VERSION_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** A Kubernetes label key: an optional DNS-subdomain prefix and '/', then a name (labelKeyProblem: lengths). */
const LABEL_KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A Kubernetes label value: empty, or alphanumeric at both ends with '-', '_', '.' between; at most 63 characters. */
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_MAX = 63;
const HTTP_URL = /^https?:\/\/[^/\s]+/;

const httpUrl = (description?: string) =>
  str({
    pattern: HTTP_URL,
    patternMessage: (s) => `expected an http(s):// URL, got ${show(s)}`,
    ...(description ? { description } : {}),
  });

/** A URI as resolveUri takes it; the parsed job holds the resolved one. */
const uri = (folder: boolean | 'auto', description: string) =>
  str({ then: (s, ctx) => fromResolved(resolveUri(s, ctx.baseDir, folder)), json: uriJsonSchema(folder), description });
const fromResolved = (r: { uri: string } | { error: string }) => ('error' in r ? r : { value: r.uri });

const column = str({
  nonEmpty: false,
  pattern: COLUMN_RE,
  rule: 'a column name',
  patternMessage: (s) => `${show(s)} is not a valid column name (any text but the empty string)`,
  then: reservedColumn,
});

/** Reports each name given more than once, at the list: `<what> "x" appears more than once`. */
function noDupes(names: readonly (string | undefined)[], what: string, r: Refiner, ...at: (string | number)[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (n === undefined) continue;
    if (seen.has(n)) r.bad(`${what} ${show(n)} appears more than once`, ...at);
    seen.add(n);
  }
}

const columns = (minItems: 0 | 1) =>
  list(column, {
    minItems,
    rule: `a ${minItems ? 'non-empty ' : ''}list of column names`,
    refine: (cols, r) => noDupes(cols, 'column', r),
  });

const modelInput = object({
  name: str({ description: 'A model input.' }),
  columns: describe(columns(1), 'Input columns, stacked as [rows, columns] (a 1-D input takes one).'),
});

const modelOutput = object(
  {
    name: str({ description: 'A model output.' }),
    column: describe(column, 'The output column it is written to.'),
    index: optional(
      int({
        min: 0,
        rule: 'a non-negative integer',
        description:
          "Picks one element of the output's last axis; without it the whole row is written as a list column.",
      }),
    ),
    label: optional(
      anyOf([str({ nonEmpty: false }), int()], {
        rule: 'a class label (a string or an integer)',
        description:
          "Picks a class of a classifier's probabilities by its label rather than its position: " +
          "for an output a ZipMap makes (skl2onnx's default), whose node lists the labels. " +
          'Not with `index`.',
      }),
    ),
  },
  {
    refine: (_o, r) => {
      if (r.raw.index !== undefined && r.raw.label !== undefined)
        r.bad('give index (a position) or label (a class), not both', 'label');
    },
    json: { not: { required: ['index', 'label'] } },
  },
);

const nonNegative = (description?: string) => num({ min: 0, ...(description ? { description } : {}) });

const valueRange = object(
  { min: optional(num()), max: optional(num()) },
  {
    refine: (v, r) => {
      if (v.min === undefined && v.max === undefined) r.bad('needs min, max or both');
      else if (v.min !== undefined && v.max !== undefined && v.min > v.max)
        r.bad(`min ${v.min} is greater than max ${v.max}`);
    },
    json: { anyOf: [{ required: ['min'] }, { required: ['max'] }] },
  },
);

const webhookObject = object(
  {
    url: optional(httpUrl()),
    urlFromEnv: optional(
      str({ pattern: ENV_NAME, patternMessage: (s) => `${show(s)} is not an environment variable name` }),
    ),
  },
  {
    refine: (_w, r) => {
      if ((r.raw.url === undefined) === (r.raw.urlFromEnv === undefined))
        r.bad('needs exactly one of url or urlFromEnv');
    },
    json: { oneOf: [{ required: ['url'] }, { required: ['urlFromEnv'] }] },
  },
);
type Webhook = Static<typeof webhookObject>;

const spec = object(
  {
    input: object({
      uri: uri(
        'auto',
        'A folder (every data file below it) or one file; "{date}" stands for the run date. ' +
          's3://, file:// or a path relative to the job file.',
      ),
      format: withDefault(
        oneOf(INPUT_FORMATS, {
          description: 'Files are picked by extension: .parquet/.parq/.pq, .csv/.tsv, .jsonl/.ndjson/.json.',
        }),
        'parquet',
      ),
      csv: withDefault(
        object({
          delimiter: optional(
            str({
              nonEmpty: false,
              // One character (a code point: an astral one too); a line break would end records instead.
              pattern: /^[^"\r\n]$/u,
              rule: `one character other than '"', CR or LF`,
              description: 'Unset: by extension (tab for .tsv, else comma).',
            }),
          ),
        }),
        {},
      ),
      allowEmpty: optional(
        map(
          bool({ description: 'An input with no rows publishes a complete zero-row run instead of failing.' }),
          (b) => (b ? (true as const) : undefined),
        ),
      ),
    }),
    model: object({
      uri: uri(false, 'The ONNX model file: s3://, file:// or a path relative to the job file.'),
      version: str({
        coerceNumber: true,
        pattern: VERSION_RE,
        maxLength: LABEL_MAX,
        patternMessage: (s) =>
          `${show(s)} may hold only letters, digits, '.', '_' and '-', start and end with a letter or digit, and ` +
          `have at most ${LABEL_MAX} characters (it becomes a folder name and the Kubernetes label ` +
          `batchscore.dev/model-version)`,
        description: 'Becomes the model_version= folder.',
      }),
      inputs: list(modelInput, {
        minItems: 1,
        description: '{name, columns} for every model input.',
        refine: (inputs, r) =>
          noDupes(
            inputs.map((x) => x?.name),
            'name',
            r,
          ),
      }),
      outputs: list(modelOutput, {
        minItems: 1,
        description: '{name, index?, label?, column} for each output column.',
      }),
    }),
    output: object({
      uri: uri(true, 'The output folder: s3://, file:// or a path relative to the job file.'),
      quarantineUri: withDefault(
        uri(
          true,
          'Where rows that are not scored are published. Default: {uri}_quarantine/ (inside ' +
            "the output, so a policy that covers the output covers it; '_' keeps dataset readers " +
            'out of it).',
        ),
        (o: { uri?: string }) => (o.uri === undefined ? undefined : o.uri + DEFAULT_QUARANTINE_DIR),
      ),
      bookkeepingUri: optional(
        uri(
          true,
          "Where a run's records go, away from the table: the plan, lease, shard commit records, staged parts, " +
            'and the manifest and failure record (at batch_date=D/model_version=V/ below it), so that the output ' +
            'folder holds nothing but data files and every reader reads it whole. Default: the records in ' +
            '{uri}_batchscore/, and the manifest in each run folder.',
        ),
      ),
      passthrough: withDefault(describe(columns(0), 'Input columns copied to the output as they are.'), []),
      partitionBy: withDefault(
        describe(
          columns(0),
          'Passthrough columns that become hive-style folders below the run folder (left out of the data files).',
        ),
        [],
      ),
      rowsPerPart: withDefault(
        posInt({
          description:
            'Input rows per part (quarantined rows counted): a shard is written in parts cut every rowsPerPart ' +
            'of its input rows, each committed on its own, so a retried attempt (a reclaimed spot pod) resumes ' +
            "after the last committed part. No file holds more rows; it bounds a worker's memory.",
        }),
        1_000_000,
      ),
    }),
    sharding: withDefault(
      object({
        rowsPerShard: withDefault(
          posInt({ description: 'Parquet: about this many rows per shard, cut at row-group boundaries.' }),
          250_000,
        ),
        bytesPerShard: withDefault(posInt({ description: 'CSV/JSONL: bytes per shard.' }), 64 * 1024 * 1024),
      }),
      {},
    ),
    worker: withDefault(
      object({
        batchSize: withDefault(
          anyOf([literal('auto'), posInt()], {
            rule: 'a positive integer',
            description:
              "Rows per model run: 'auto' lets each worker measure a few sizes on its first rows and keep the fastest.",
          }),
          'auto',
        ),
        threads: optional(
          posInt({ description: 'onnxruntime intra-op threads per worker (default: cores ÷ workers).' }),
        ),
        device: optional(
          oneOf(DEVICES, {
            description:
              'auto = CUDA when it loads, else CPU with a warning; cuda = fail without it; cpu ' +
              '= never try. Unset: the pod decides (cuda on a GPU pod, else auto).',
          }),
        ),
      }),
      {},
    ),
    storage: withDefault(
      object(
        {
          s3: withDefault(
            object({
              endpoint: optional(
                str({
                  pattern: /^https?:\/\/[^/]+/,
                  patternMessage: (s) => `expected an http(s):// URL, got ${show(s)}`,
                  description: 'S3 endpoint URL (MinIO, Ceph…).',
                }),
              ),
              forcePathStyle: optional(bool({ description: 'Path-style addressing for MinIO-style servers.' })),
            }),
            {},
          ),
          concurrency: optional(
            posInt({
              description:
                "Most requests in flight for one batch of object-store requests (merge's commit reads " +
                'and copies, say); default 64.',
            }),
          ),
        },
        { description: 'Region and credentials come from the standard AWS chain, never from the job file.' },
      ),
      {},
    ),
    cluster: withDefault(clusterSchema, {}),
    validation: withDefault(
      object(
        {
          ranges: withDefault(
            record(valueRange, {
              keyPattern: COLUMN_RE,
              keyMessage: (k) => `${show(k)} is not a valid column name (any text but the empty string)`,
              description: '{column: {min?, max?}}: a row with a value outside its range is quarantined, not scored.',
            }),
            {},
          ),
          maxInvalidFraction: withDefault(
            num({ min: 0, max: 1, rule: 'a number from 0 to 1 (a fraction of the input rows)' }),
            DEFAULT_MAX_INVALID_FRACTION,
          ),
          nullStrings: optional(
            map(
              oneOf(['quarantine', 'empty'], {
                rule: 'quarantine (the default) or empty',
                description:
                  'A null in a string feature (a tensor(string) input): quarantined by default; empty ' +
                  'scores it as the empty string, as OneHotEncoder(handle_unknown="ignore") treats ' +
                  'a category it never saw.',
              }),
              (v) => (v === 'empty' ? ('empty' as const) : undefined),
            ),
          ),
        },
        {
          description:
            'Rows with a null, NaN or infinite feature, or a value outside `ranges`, are quarantined ' +
            'instead of scored; more than `maxInvalidFraction` of the input quarantined fails ' +
            'the run.',
        },
      ),
      {},
    ),
    metrics: withDefault(
      object(
        { pushgateway: optional(httpUrl('Prometheus Pushgateway URL.')) },
        {
          description:
            'Where the workers and merge push Prometheus metrics (batch pods are too short-lived to scrape).',
        },
      ),
      {},
    ),
    cost: optional(
      object(
        {
          cpuNodeHour: withDefault(nonNegative(), 0),
          gpuNodeHour: withDefault(nonNegative(), 0),
          currency: withDefault(str(), 'USD'),
          workersPerNode: withDefault(
            posInt({ description: "Worker pods sharing one node: a pod is charged this share of the node's price." }),
            1,
          ),
        },
        {
          description:
            "Prices for the manifest's cost section; without them the manifest has node-seconds but no money.",
          refine: (_c, r) => {
            if (r.raw.cpuNodeHour === undefined && r.raw.gpuNodeHour === undefined)
              r.bad('needs cpuNodeHour, gpuNodeHour or both (price per node-hour)');
          },
          json: { anyOf: [{ required: ['cpuNodeHour'] }, { required: ['gpuNodeHour'] }] },
        },
      ),
    ),
    quality: withDefault(
      object({
        psiThreshold: withDefault(
          nonNegative(
            'Population stability index above which a prediction column counts as drifted against the baseline run.',
          ),
          0.2,
        ),
        failOnDrift: withDefault(bool({ description: 'true: drift fails the run instead of a warning.' }), false),
        lookbackDays: withDefault(
          posInt({
            description: 'How many earlier dates merge looks back for a baseline run (same job, same model version).',
          }),
          7,
        ),
      }),
      {},
    ),
    notify: withDefault(
      object({
        // Chat webhooks carry their secret in the URL: urlFromEnv keeps it out of the job file (a Secret in the
        // cluster).
        webhook: optional(
          anyOf([map(httpUrl(), (url): Webhook => ({ url })), webhookObject], {
            description:
              "A URL (or {url} / {urlFromEnv: NAME}, to keep a chat webhook's secret out of the " +
              'file) that gets a JSON POST when the run completes or fails.',
          }),
        ),
      }),
      {},
    ),
  },
  { refine: (s, r) => crossFieldRules(s, r) },
);

/** The lengths a label key's syntax (LABEL_KEY_RE) does not bound: NAME ≤ 63, PREFIX ≤ 253. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const name = key.slice(slash + 1);
  if (name.length > LABEL_MAX)
    return `the name part of a label key has at most ${LABEL_MAX} characters, not ${name.length}`;
  if (slash > 253) return `the prefix of a label key has at most 253 characters, not ${slash}`;
  return undefined;
}

export const scoringJobSchema = object({
  apiVersion: literal(API_VERSION),
  kind: literal('ScoringJob'),
  metadata: object({
    name: str({
      pattern: NAME_RE,
      maxLength: 52,
      patternMessage: (s) =>
        `${show(s)} must be lowercase letters, digits and '-', start and end alphanumeric, ` +
        `at most 52 characters (it names Kubernetes objects)`,
    }),
    labels: withDefault(
      record(
        str({
          nonEmpty: false,
          pattern: LABEL_VALUE_RE,
          maxLength: LABEL_MAX,
          patternMessage: (s) =>
            `${show(s)} is not a Kubernetes label value: at most ${LABEL_MAX} characters, letters, digits, ` +
            `'-', '_' and '.', starting and ending with a letter or digit`,
        }),
        {
          keyPattern: LABEL_KEY_RE,
          keyMessage: (k) =>
            `${show(k)} is not a Kubernetes label key: [PREFIX/]NAME, NAME at most ${LABEL_MAX} characters of ` +
            `letters, digits, '-', '_' and '.' (alphanumeric at both ends), PREFIX a DNS subdomain`,
          refine: (labels, r) => {
            for (const k of Object.keys(labels)) {
              const problem = labelKeyProblem(k);
              if (problem) r.bad(problem, k);
            }
          },
          description:
            'Labels every object and pod of the job carries (Kubernetes label keys and values: a value at most ' +
            `${LABEL_MAX} characters).`,
        },
      ),
      {},
    ),
  }),
  spec,
});

/** The job after parsing: every URI absolute, every default filled in. Plans carry it, so workers need no job file. */
export type ScoringJob = Static<typeof scoringJobSchema>;
type Spec = ScoringJob['spec'];
export type ModelInputSpec = Static<typeof modelInput>;
export type ModelOutputSpec = Static<typeof modelOutput>;
export type ValueRange = Static<typeof valueRange>;
export type ValidationSpec = Spec['validation'];
export type CostSpec = NonNullable<Spec['cost']>;
export type QualitySpec = Spec['quality'];

export function storeConcurrency(job: ScoringJob): number {
  return job.spec.storage.concurrency ?? DEFAULT_STORE_CONCURRENCY;
}

/** Reads and parses a job file; relative paths and `file:` URIs resolve against the file's folder. */
export async function readJobFile(file: string): Promise<ScoringJob> {
  return (await readJobDocument(file)).job;
}

/**
 * The job file parsed, and its text as written (what `render --kind configmap` puts in the job's ConfigMap): one read.
 */
export async function readJobDocument(file: string): Promise<{ job: ScoringJob; text: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BatchscoreError(
      'SPEC_INVALID',
      `${file}: cannot read job file (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  return { job: parseJobSpec(text, { baseDir: path.dirname(path.resolve(file)), source: file }), text };
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
      throw new BatchscoreError(
        'SPEC_INVALID',
        `${source}: not valid YAML: its aliases expand to too many nodes (a "billion laughs" ` +
          `resource exhaustion attack?); use each anchor fewer times`,
      );
    }
    throw err;
  }
}

/** Pure validation of an already-parsed document: the schema's rules, then the rules across sections. */
export function toScoringJob(raw: unknown, baseDir: string): { job?: ScoringJob; problems: SpecProblem[] } {
  const { value, problems } = validateNode(scoringJobSchema, raw, { baseDir });
  if (problems.length > 0 || value === undefined) return { problems };
  return { job: value, problems };
}

/** Rules across sections of spec, on what of them parsed (a part that broke a rule is missing). */
function crossFieldRules(s: Loose<Spec>, r: Refiner): void {
  const { input, output, model } = s;
  checkLocations(input?.uri, output?.uri, output?.quarantineUri, r.raw?.output?.quarantineUri !== undefined, r);
  checkBookkeeping(input?.uri, output?.uri, output?.bookkeepingUri, r);
  const passthrough = output?.passthrough ?? [];
  const partitionBy = output?.partitionBy ?? [];
  const outputs = model?.outputs ?? [];
  noDupes(
    [...passthrough, ...outputs.map((o) => o?.column)],
    'column (passthrough and model output columns share one table)',
    r,
    'output',
  );
  for (const [i, c] of partitionBy.entries()) {
    if (c !== undefined && !passthrough.includes(c))
      r.bad(`${show(c)} must also be listed in spec.output.passthrough`, 'output', 'partitionBy', i);
  }
  if (partitionBy.length > 0 && partitionBy.length === passthrough.length && outputs.length === 0)
    r.bad('leaves no columns in the data files', 'output', 'partitionBy');
  for (const k of Object.keys(s.validation?.ranges ?? {})) {
    const bad = reservedColumn(k);
    if ('error' in bad) r.bad(bad.error, 'validation', 'ranges', k);
  }
}

/**
 * Output and quarantine must not overlap the input for any date: each later date would read the earlier dates'
 * outputs and bookkeeping as input, and the input folder would change.
 */
function checkLocations(
  input: string | undefined,
  output: string | undefined,
  quarantine: string | undefined,
  quarantineSet: boolean,
  r: Refiner,
): void {
  if (input === undefined || output === undefined) return;
  if (prefixesOverlap(input, output)) {
    r.bad(
      `${where(output)} overlaps spec.input.uri ${where(input)} (one is inside the other): ` +
        `output would be read back as input; choose an output folder outside the input`,
      'output',
      'uri',
    );
  }
  // The default quarantine (output/_quarantine/) is right by construction; one the user names is checked.
  if (quarantineSet && quarantine !== undefined)
    checkSideFolder('quarantineUri', input, output, quarantine, r, {
      holdingOutput: 'quarantined rows would be read as output',
      batchscoreFolderTaken: true,
    });
}

/** spec.output.bookkeepingUri, where given: the same rules as a quarantine folder's. */
function checkBookkeeping(
  input: string | undefined,
  output: string | undefined,
  bookkeeping: string | undefined,
  r: Refiner,
): void {
  if (input === undefined || output === undefined || bookkeeping === undefined) return;
  checkSideFolder('bookkeepingUri', input, output, bookkeeping, r, {
    holdingOutput: "choose a folder beside the output (or a '_' folder inside it)",
    batchscoreFolderTaken: false,
  });
}

/**
 * A folder of batchscore's own beside the data (the quarantine, the bookkeeping): not read as input, not holding the
 * output (the data would then lie among its files), and inside the output only in a `_`-prefixed folder of its own,
 * which dataset readers of the output skip. The quarantine may not be the output's `_batchscore/` folder, where the
 * bookkeeping lives by default; the bookkeeping may.
 */
function checkSideFolder(
  field: 'quarantineUri' | 'bookkeepingUri',
  input: string,
  output: string,
  folder: string,
  r: Refiner,
  rule: { holdingOutput: string; batchscoreFolderTaken: boolean },
): void {
  if (prefixesOverlap(input, folder)) {
    r.bad(
      `${where(folder)} overlaps spec.input.uri ${where(input)} (one is inside the other); ` +
        `choose a folder outside the input`,
      'output',
      field,
    );
  }
  if (output.startsWith(folder)) {
    r.bad(`${where(folder)} contains spec.output.uri ${where(output)}; ${rule.holdingOutput}`, 'output', field);
  } else if (folder.startsWith(output)) {
    const first = folder.slice(output.length).split('/')[0]!;
    const taken = rule.batchscoreFolderTaken && first === '_batchscore';
    if (!first.startsWith('_') || taken) {
      r.bad(
        `${where(folder)} is inside spec.output.uri, so its first folder below the output must start with '_' ` +
          `(dataset readers skip those)${rule.batchscoreFolderTaken ? ' and not be _batchscore' : ''}; ` +
          `got ${show(first)}`,
        'output',
        field,
      );
    }
  }
}

/** A location as these messages quote it: whole, since two URIs cut short would read the same where they differ. */
function where(uri: string): string {
  return JSON.stringify(uri);
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
