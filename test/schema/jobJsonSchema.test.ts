import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { formatJobJsonSchema, toJobJsonSchema, toScoringJob } from '@batchscore/core';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { JsonDoc } from '../support/jsonDoc.js';
import { parse } from 'yaml';
import { REPO } from '../support/cli.js';
import { jobYaml } from '../support/data.js';

const SCHEMA_FILE = path.join(REPO, 'schemas/scoring-job.v1.schema.json');
const EXAMPLES = readdirSync(path.join(REPO, 'examples')).filter((f) => f.endsWith('.yaml'));

// strict: the schema uses no keyword ajv does not know, and no bound without its type. strictRequired is off: the
// rules across fields say `required` in subschemas (anyOf, oneOf, not) whose properties are their parent's.
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(toJobJsonSchema());
const breaches = (doc: unknown) =>
  validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.keyword}`);
const parserProblems = (doc: unknown) => toScoringJob(doc, '/jobs').problems.map((p) => `${p.path}: ${p.message}`);

/** A valid job as written, to be modified per case. */
function doc(): JsonDoc {
  return parse(jobYaml({ input: 'in/{date}/', model: 'models/credit.onnx', output: 's3://scores/credit/' }));
}

describe('schemas/scoring-job.v1.schema.json', () => {
  it('is what toJobJsonSchema() generates (regenerate: npm run schema:job)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(formatJobJsonSchema(toJobJsonSchema()));
  });

  it('is draft-07, and every example job names it on its first line', () => {
    expect(toJobJsonSchema().$schema).toBe('http://json-schema.org/draft-07/schema#');
    // Embedded (the Helm chart's jobs: items), it is the same schema without $schema and $id.
    const { $schema: _s, $id: _i, ...embedded } = toJobJsonSchema();
    expect(toJobJsonSchema({ standalone: false })).toEqual(embedded);
    expect(EXAMPLES.length).toBeGreaterThan(0);
    for (const f of EXAMPLES) {
      expect(readFileSync(path.join(REPO, 'examples', f), 'utf8').split('\n')[0], f).toBe(
        '# yaml-language-server: $schema=../schemas/scoring-job.v1.schema.json',
      );
    }
  });
});

describe('the job JSON Schema accepts what parseJobSpec accepts', () => {
  it.each(EXAMPLES)('examples/%s', (f) => {
    const d = parse(readFileSync(path.join(REPO, 'examples', f), 'utf8'));
    expect(parserProblems(d)).toEqual([]);
    expect(breaches(d)).toEqual([]);
  });

  const variants: Record<string, string> = {
    'the default test job': jobYaml({ input: 'in/', model: '/m/credit.onnx', output: 'out/' }),
    'csv input, partitioned output, sizes': jobYaml({
      input: 'in.csv',
      format: 'csv',
      model: 'm.onnx',
      output: 'out/',
      passthrough: ['customer_id', 'region'],
      partitionBy: ['region'],
      rowsPerShard: 10,
      bytesPerShard: 1024,
    }),
    'label outputs and string inputs': jobYaml({
      input: 's3://bucket/in/x.parquet',
      model: 's3://bucket/m/model.onnx',
      output: 'out/',
      inputs: '[{name: age, columns: [age]}, {name: region, columns: [region]}]',
      outputs:
        '[{name: output_probability, label: 1, column: p1}, {name: output_probability, label: ' +
        'churned, column: p2}, {name: output_label, column: label}]',
    }),
    'every optional section': jobYaml({
      input: 'in/',
      model: 'm.onnx',
      output: 'out/',
      extra: `  worker: {batchSize: 512, threads: 2, device: cuda}
  storage: {s3: {endpoint: "http://localhost:9000", forcePathStyle: true}, concurrency: 8}
  validation: {ranges: {age: {min: 0}}, maxInvalidFraction: 0.5, nullStrings: empty}
  metrics: {pushgateway: "http://pushgateway:9091"}
  cost: {gpuNodeHour: 2.5, currency: EUR}
  quality: {psiThreshold: 0.1, failOnDrift: true, lookbackDays: 3}
  notify: {webhook: "https://hooks.example/x"}
  cluster:
    imagePullPolicy: IfNotPresent
    resources: {requests: {cpu: 2, memory: 8Gi}}
    tolerations: [{key: gpu, operator: Exists, effect: NoSchedule, tolerationSeconds: 30}]
    parallelism: 4
    scorePods: 4
    podGC: {strategy: OnWorkflowSuccess}
    ttlStrategy: {secondsAfterCompletion: 60}
    shmSize: 2
    nodeSelector: {kubernetes.io/arch: amd64}
    schedule: {crons: ["@daily"], dateOffsetDays: 0}
`,
    }),
  };
  it.each(Object.entries(variants))('%s', (_name, yamlText) => {
    const d = parse(yamlText);
    expect(parserProblems(d)).toEqual([]);
    expect(breaches(d)).toEqual([]);
  });
});

describe('the job JSON Schema rejects, structurally, what parseJobSpec rejects', () => {
  const cases: [string, (d: JsonDoc) => void, string, string][] = [
    [
      'an unknown field',
      (d) => (d.spec.retries = 3),
      'spec.retries: unknown field (expected one of input, model, output, sharding, worker, ' +
        'storage, cluster, validation, metrics, cost, quality, notify)',
      '/spec additionalProperties',
    ],
    ['a missing required field', (d) => delete d.spec.model.uri, 'spec.model.uri: is required', '/spec/model required'],
    [
      'another apiVersion',
      (d) => (d.apiVersion = 'batchscore.dev/v2'),
      'apiVersion: expected "batchscore.dev/v1alpha1", got "batchscore.dev/v2"',
      '/apiVersion const',
    ],
    [
      'a device not in the enum',
      (d) => (d.spec.worker = { device: 'gpu' }),
      'spec.worker.device: expected one of auto, cuda, cpu, got "gpu"',
      '/spec/worker/device enum',
    ],
    [
      'a string parallelism',
      (d) => (d.spec.cluster = { parallelism: 'x' }),
      'spec.cluster.parallelism: expected an integer ≥ 1, got "x"',
      '/spec/cluster/parallelism type',
    ],
    [
      'a parallelism past 500',
      (d) => (d.spec.cluster = { parallelism: 600 }),
      'spec.cluster.parallelism: 600 is more than the 500 score pods a Workflow can have ' +
        '(spec.cluster.scorePods); run more Workflows (backfill --parallel) for more at once',
      '/spec/cluster/parallelism maximum',
    ],
    [
      'a name Kubernetes refuses',
      (d) => (d.metadata.name = 'Credit_Risk'),
      `metadata.name: "Credit_Risk" must be lowercase letters, digits and '-', start and ` +
        `end alphanumeric, at most 52 characters (it names Kubernetes objects)`,
      '/metadata/name pattern',
    ],
    [
      'an unknown URI scheme',
      (d) => (d.spec.input.uri = 'gs://bucket/in/'),
      'spec.input.uri: unknown URI scheme "gs:" in "gs://bucket/in/": expected s3://, file:// or a path',
      '/spec/input/uri anyOf',
    ],
    [
      'a model URI naming a folder',
      (d) => (d.spec.model.uri = 's3://bucket/models/'),
      'spec.model.uri: "s3://bucket/models/" must name an object, not a folder',
      '/spec/model/uri not',
    ],
    [
      'a file URI with a host',
      (d) => (d.spec.output.uri = 'file://host/out/'),
      'spec.output.uri: "file://host/out/": file URIs with a host are not supported; use ' +
        'file:///absolute/path or a relative path',
      '/spec/output/uri anyOf',
    ],
    [
      'an empty column list',
      (d) => (d.spec.model.inputs[0].columns = []),
      'spec.model.inputs[0].columns: expected a non-empty list of column names, got []',
      '/spec/model/inputs/0/columns minItems',
    ],
    [
      'an output with index and label',
      (d) => (d.spec.model.outputs[0].label = 1),
      'spec.model.outputs[0].label: give index (a position) or label (a class), not both',
      '/spec/model/outputs/0 not',
    ],
    [
      'a webhook with url and urlFromEnv',
      (d) => (d.spec.notify = { webhook: { url: 'https://a/', urlFromEnv: 'X' } }),
      'spec.notify.webhook: needs exactly one of url or urlFromEnv',
      '/spec/notify/webhook oneOf',
    ],
    [
      'a range with neither bound',
      (d) => (d.spec.validation = { ranges: { age: {} } }),
      'spec.validation.ranges.age: needs min, max or both',
      '/spec/validation/ranges/age anyOf',
    ],
    [
      'a cost with no price',
      (d) => (d.spec.cost = { currency: 'EUR' }),
      'spec.cost: needs cpuNodeHour, gpuNodeHour or both (price per node-hour)',
      '/spec/cost anyOf',
    ],
    [
      'a bad quantity',
      (d) => (d.spec.cluster = { resources: { limits: { memory: 'lots' } } }),
      'spec.cluster.resources.limits.memory: expected a Kubernetes quantity such as 500m, 2, 4Gi; got "lots"',
      '/spec/cluster/resources/limits/memory anyOf',
    ],
    [
      'GPUs as a resource',
      (d) => (d.spec.cluster = { resources: { limits: { 'nvidia.com/gpu': 1 } } }),
      'spec.cluster.resources: set GPUs with spec.cluster.gpusPerWorker, not nvidia.com/gpu',
      '/spec/cluster/resources/limits propertyNames',
    ],
    [
      'a CSV delimiter of a quote',
      (d) => (d.spec.input.csv = { delimiter: '"' }),
      `spec.input.csv.delimiter: expected one character other than '"', CR or LF, got "\\""`,
      '/spec/input/csv/delimiter pattern',
    ],
    [
      'a CSV delimiter of a carriage return (it ends records)',
      (d) => (d.spec.input.csv = { delimiter: '\r' }),
      `spec.input.csv.delimiter: expected one character other than '"', CR or LF, got "\\r"`,
      '/spec/input/csv/delimiter pattern',
    ],
    [
      'no cron expression',
      (d) => (d.spec.cluster = { schedule: { crons: [] } }),
      'spec.cluster.schedule.crons: expected a non-empty list of cron expressions such as "0 2 * * *", got []',
      '/spec/cluster/schedule/crons minItems',
    ],
    [
      'a cron expression of three fields',
      (d) => (d.spec.cluster = { schedule: { crons: ['0 2 *'] } }),
      'spec.cluster.schedule.crons[0]: "0 2 *" is not a 5-field cron expression',
      '/spec/cluster/schedule/crons/0 pattern',
    ],
    [
      'a positive date offset',
      (d) => (d.spec.cluster = { schedule: { crons: ['@daily'], dateOffsetDays: 1 } }),
      'spec.cluster.schedule.dateOffsetDays: expected 0 or a negative integer (days before the scheduled day), got 1',
      '/spec/cluster/schedule/dateOffsetDays maximum',
    ],
    [
      'an env name that is no name',
      (d) => (d.spec.cluster = { env: { 'AWS-REGION': 'x' } }),
      'spec.cluster.env.AWS-REGION: is not a valid key',
      '/spec/cluster/env propertyNames',
    ],
    [
      'a zero batch size',
      (d) => (d.spec.worker = { batchSize: 0 }),
      'spec.worker.batchSize: expected a positive integer, got 0',
      '/spec/worker/batchSize anyOf',
    ],
  ];
  it.each(cases)('%s', (_name, change, problem, breach) => {
    const d = doc();
    expect(parserProblems(d)).toEqual([]);
    change(d);
    expect(parserProblems(d)).toEqual([problem]);
    expect(breaches(d)).toContain(breach);
  });
});
