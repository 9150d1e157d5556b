import { describe, expect, it } from 'vitest';
import type { JsonDoc } from '../../../test/support/jsonDoc.js';
import { BatchscoreError } from './errors.js';
import { isValidDate, parseJobSpec, resolveUri, storeConcurrency, toScoringJob, withDate } from './spec.js';

const EXAMPLE = `
apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: credit-risk}
spec:
  input:  {uri: "file:///data/customers/", format: parquet}
  model:
    uri: "file:///models/credit.onnx"
    version: v3
    inputs:  [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: default_probability}]
  output:
    uri: "file:///out/credit-risk/"
    passthrough: [customer_id]
  sharding: {rowsPerShard: 250000}
`;

const opts = { baseDir: '/jobs', source: 'job.yaml' };

/** A valid job as a plain object, to be modified per test and run through toScoringJob. */
function rawJob(): JsonDoc {
  return {
    apiVersion: 'batchscore.dev/v1alpha1',
    kind: 'ScoringJob',
    metadata: { name: 'credit-risk' },
    spec: {
      input: { uri: 'file:///data/customers/', format: 'parquet' },
      model: {
        uri: 'file:///models/credit.onnx',
        version: 'v3',
        inputs: [{ name: 'features', columns: ['age', 'income', 'credit', 'loan'] }],
        outputs: [{ name: 'probabilities', index: 1, column: 'default_probability' }],
      },
      output: { uri: 'file:///out/credit-risk/', passthrough: ['customer_id'] },
    },
  };
}

/** Runs parseJobSpec and returns the error it throws (fails the test when it does not throw). */
function specError(text: string, o: { baseDir: string; source?: string } = opts): BatchscoreError {
  try {
    parseJobSpec(text, o);
  } catch (err) {
    expect(err).toBeInstanceOf(BatchscoreError);
    return err as BatchscoreError;
  }
  throw new Error('parseJobSpec did not throw');
}

describe('parseJobSpec', () => {
  it('parses the example job to exact values with every default filled in', () => {
    expect(parseJobSpec(EXAMPLE, opts)).toEqual({
      apiVersion: 'batchscore.dev/v1alpha1',
      kind: 'ScoringJob',
      metadata: { name: 'credit-risk', labels: {} },
      spec: {
        input: { uri: 'file:///data/customers/', format: 'parquet', csv: {} },
        model: {
          uri: 'file:///models/credit.onnx',
          version: 'v3',
          inputs: [{ name: 'features', columns: ['age', 'income', 'credit', 'loan'] }],
          outputs: [{ name: 'probabilities', index: 1, column: 'default_probability' }],
        },
        output: {
          uri: 'file:///out/credit-risk/',
          quarantineUri: 'file:///out/credit-risk/_quarantine/',
          passthrough: ['customer_id'],
          partitionBy: [],
          rowsPerPart: 1_000_000,
        },
        sharding: { rowsPerShard: 250_000, bytesPerShard: 64 * 1024 * 1024 },
        worker: { batchSize: 'auto' },
        storage: { s3: {} },
        validation: { ranges: {}, maxInvalidFraction: 0.001 },
        metrics: {},
        quality: { psiThreshold: 0.2, failOnDrift: false, lookbackDays: 7 },
        notify: {},
        cluster: {
          serviceAccount: 'batchscore',
          gpusPerWorker: 0,
          resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '4Gi' } },
          coordinatorResources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } },
          nodeSelector: {},
          tolerations: [],
          coordinatorNodeSelector: {},
          coordinatorTolerations: [],
          parallelism: 8,
          scorePods: 32,
          retries: { limit: 3, backoff: { duration: '30s', factor: 2, maxDuration: '10m' } },
          activeDeadlineSeconds: 86_400,
          terminationGracePeriodSeconds: 30,
          podGC: { strategy: 'OnPodSuccess' },
          ttlStrategy: { secondsAfterSuccess: 604_800, secondsAfterFailure: 1_209_600 },
          env: {},
          shmSize: '1Gi',
        },
      },
    });
  });

  it('parses spec.cluster and reports its problems with the rest', () => {
    const text =
      EXAMPLE +
      `  cluster:
    image: registry.example/bs:1
    namespace: scoring
    gpusPerWorker: 1
    gpuProduct: NVIDIA-A10G
    runtimeClassName: nvidia
    resources: {requests: {cpu: "4", memory: 8Gi}, limits: {memory: 8Gi}}
    s3Secret: {name: batchscore-s3}
    env: {AWS_REGION: eu-west-1}
    schedule: {crons: ["0 2 * * *"], timezone: Europe/Berlin}
`;
    const c = parseJobSpec(text, opts).spec.cluster;
    expect(c).toMatchObject({
      image: 'registry.example/bs:1',
      namespace: 'scoring',
      gpusPerWorker: 1,
      gpuProduct: 'NVIDIA-A10G',
      runtimeClassName: 'nvidia',
      resources: { requests: { cpu: '4', memory: '8Gi' }, limits: { memory: '8Gi' } },
      s3Secret: {
        name: 'batchscore-s3',
        accessKeyIdKey: 'AWS_ACCESS_KEY_ID',
        secretAccessKeyKey: 'AWS_SECRET_ACCESS_KEY',
      },
      env: { AWS_REGION: 'eu-west-1' },
      schedule: { crons: ['0 2 * * *'], timezone: 'Europe/Berlin', dateOffsetDays: -1, startingDeadlineSeconds: 3600 },
    });
    const bad =
      EXAMPLE +
      `  cluster:
    gpusPerWorker: -1
    env: {AWS_SECRET_ACCESS_KEY: abc}
    resources: {limits: {memory: lots}}
    schedule: {crons: ["every night"], timezone: Mars/Olympus}
`;
    const msg = (() => {
      try {
        parseJobSpec(bad, { ...opts, source: 'job.yaml' });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(msg.split('\n')).toEqual([
      'job.yaml: spec.cluster.gpusPerWorker: expected an integer ≥ 0, got -1',
      'job.yaml: spec.cluster.resources.limits.memory: expected a Kubernetes quantity such as 500m, 2, 4Gi; got "lots"',
      'job.yaml: spec.cluster.env.AWS_SECRET_ACCESS_KEY: looks like a secret; reference ' +
        'it through spec.cluster.s3Secret (a Kubernetes Secret) instead',
      'job.yaml: spec.cluster.schedule.crons[0]: "every night" is not a 5-field cron expression',
      'job.yaml: spec.cluster.schedule.timezone: "Mars/Olympus" is not an IANA time zone such as Europe/Berlin',
    ]);
  });

  it('spec.cluster.scorePods: 4 pods per parallelism slot by default; an integer from parallelism to 500', () => {
    const cluster = (body: string) => parseJobSpec(EXAMPLE + `  cluster:\n${body}`, opts).spec.cluster;
    expect(cluster('    parallelism: 16\n').scorePods).toBe(64);
    expect(cluster('    parallelism: 200\n').scorePods).toBe(500);
    expect(cluster('    parallelism: 2\n    scorePods: 2\n').scorePods).toBe(2);
    expect(cluster('    scorePods: 500\n').scorePods).toBe(500);
    const problems = (body: string) => {
      try {
        cluster(body);
        return [];
      } catch (e) {
        return (e as Error).message.split('\n');
      }
    };
    for (const v of ['0', '501', '2.5', '"many"']) {
      expect(problems(`    parallelism: 1\n    scorePods: ${v}\n`)).toEqual([
        `job.yaml: spec.cluster.scorePods: expected an integer from 1 to 500 (each pod adds ` +
          `nodes to the Workflow object's status, which Argo keeps under 1 MiB), got ${v}`,
      ]);
    }
    expect(problems('    parallelism: 8\n    scorePods: 6\n')).toEqual([
      'job.yaml: spec.cluster.scorePods: 6 is less than spec.cluster.parallelism (8): at ' +
        'most scorePods score pods exist, so 2 of the parallelism slots would never be used; ' +
        'raise scorePods or lower parallelism',
    ]);
    expect(problems('    parallelism: 600\n')).toEqual([
      'job.yaml: spec.cluster.parallelism: 600 is more than the 500 score pods a Workflow ' +
        'can have (spec.cluster.scorePods); run more Workflows (backfill --parallel) for ' +
        'more at once',
    ]);
  });

  it('resolves relative paths against baseDir and adds a trailing slash to s3 folders', () => {
    const text = EXAMPLE.replace('"file:///data/customers/"', 'data/').replace(
      '"file:///out/credit-risk/"',
      '"s3://bucket/prefix"',
    );
    const job = parseJobSpec(text, opts);
    expect(job.spec.input.uri).toBe('file:///jobs/data/');
    expect(job.spec.output.uri).toBe('s3://bucket/prefix/');
    expect(job.spec.model.uri).toBe('file:///models/credit.onnx');

    const s3In = parseJobSpec(EXAMPLE.replace('"file:///data/customers/"', '"s3://bucket/prefix"'), opts);
    expect(s3In.spec.input.uri).toBe('s3://bucket/prefix/');
  });

  it('keeps "{date}" in the input URI through resolution, and withDate fills it in', () => {
    const job = parseJobSpec(EXAMPLE.replace('"file:///data/customers/"', '"data/dt={date}/"'), opts);
    expect(job.spec.input.uri).toBe('file:///jobs/data/dt={date}/');
    expect(withDate(job.spec.input.uri, '2024-01-31')).toBe('file:///jobs/data/dt=2024-01-31/');

    const s3 = parseJobSpec(EXAMPLE.replace('"file:///data/customers/"', '"s3://bucket/in/{date}/"'), opts);
    expect(s3.spec.input.uri).toBe('s3://bucket/in/{date}/');
  });

  it('treats an input URI ending in .parquet as a single file (no trailing slash)', () => {
    const job = parseJobSpec(EXAMPLE.replace('"file:///data/customers/"', '"data/part-0.parquet"'), opts);
    expect(job.spec.input.uri).toBe('file:///jobs/data/part-0.parquet');
    const s3 = parseJobSpec(EXAMPLE.replace('"file:///data/customers/"', '"s3://bucket/in/x.parquet"'), opts);
    expect(s3.spec.input.uri).toBe('s3://bucket/in/x.parquet');
  });

  it('turns a numeric model version into a string', () => {
    const job = parseJobSpec(EXAMPLE.replace('version: v3', 'version: 3'), opts);
    expect(job.spec.model.version).toBe('3');
  });

  it('reads optional fields: labels, csv delimiter, partitionBy, sharding, worker, storage', () => {
    const job = parseJobSpec(
      `
apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: j1, labels: {team: risk}}
spec:
  input: {uri: in.csv, format: csv, csv: {delimiter: ";"}}
  model: {uri: m.onnx, version: "1.2", inputs: [{name: x, columns: [a]}], outputs: [{name: y, column: score}]}
  output: {uri: out, passthrough: [id, region], partitionBy: [region], rowsPerPart: 10}
  sharding: {rowsPerShard: 5, bytesPerShard: 1024}
  worker: {batchSize: 7, threads: 2}
  storage: {s3: {endpoint: "http://localhost:9000", forcePathStyle: true}}
`,
      opts,
    );
    expect(job.metadata.labels).toEqual({ team: 'risk' });
    expect(job.spec.input).toEqual({ uri: 'file:///jobs/in.csv', format: 'csv', csv: { delimiter: ';' } });
    expect(job.spec.model.uri).toBe('file:///jobs/m.onnx');
    expect(job.spec.model.outputs).toEqual([{ name: 'y', column: 'score' }]);
    expect(job.spec.output).toEqual({
      uri: 'file:///jobs/out/',
      quarantineUri: 'file:///jobs/out/_quarantine/',
      passthrough: ['id', 'region'],
      partitionBy: ['region'],
      rowsPerPart: 10,
    });
    expect(job.spec.sharding).toEqual({ rowsPerShard: 5, bytesPerShard: 1024 });
    expect(job.spec.worker).toEqual({ batchSize: 7, threads: 2 });
    expect(job.spec.storage).toEqual({ s3: { endpoint: 'http://localhost:9000', forcePathStyle: true } });
  });

  it(
    'leaves spec.worker.device and spec.cluster.image unset when the file does (the pod ' +
      'and the renderer choose), and keeps them when set',
    () => {
      const unset = parseJobSpec(EXAMPLE, opts);
      expect(['device' in unset.spec.worker, 'image' in unset.spec.cluster]).toEqual([false, false]);
      const set = parseJobSpec(EXAMPLE + '  worker: {device: cuda}\n  cluster: {image: registry.example/bs:2}\n', opts);
      expect([set.spec.worker.device, set.spec.cluster.image]).toEqual(['cuda', 'registry.example/bs:2']);
      expect(specError(EXAMPLE + '  worker: {device: gpu}\n').message).toBe(
        'job.yaml: spec.worker.device: expected one of auto, cuda, cpu, got "gpu"',
      );
    },
  );

  it('reports several problems at once in one SPEC_INVALID error, one "path: message" line each', () => {
    const text = `
apiVersion: batchscore.dev/v2
kind: ScoringJob
metadata: {name: Credit_Risk}
spec:
  input: {uri: "gs://x/y", format: parquet}
  model:
    uri: "file:///models/credit.onnx"
    version: v3
    inputs: [{name: features}]
    outputs: [{name: probabilities, index: 1, column: customer_id}]
  output:
    uri: "file:///out/credit-risk/"
    passthrough: [customer_id]
    partitionBy: [region]
  colour: blue
`;
    const err = specError(text);
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.message).toContain('job.yaml');
    const expected = [
      'apiVersion: expected "batchscore.dev/v1alpha1", got "batchscore.dev/v2"',
      'metadata.name: "Credit_Risk" must be lowercase letters',
      'spec.colour: unknown field (expected one of input, model, output, sharding, worker, ' +
        'storage, cluster, validation, metrics, cost, quality, notify)',
      'spec.input.uri: unknown URI scheme "gs:"',
      'spec.model.inputs[0].columns: is required',
      'spec.output: column (passthrough and model output columns share one table) "customer_id" appears more than once',
      'spec.output.partitionBy[0]: "region" must also be listed in spec.output.passthrough',
    ];
    // Each problem on a line of its own.
    const lines = err.message.split('\n');
    const at = expected.map((e) => lines.findIndex((l) => l.includes(e)));
    expect(
      at.every((i) => i >= 0),
      `missing from:\n${err.message}`,
    ).toBe(true);
    expect(new Set(at).size).toBe(expected.length);
  });

  it('reports a single problem naming the source, the field and the rule', () => {
    const err = specError(EXAMPLE.replace('kind: ScoringJob', 'kind: Job'));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.message).toContain('job.yaml');
    expect(err.message).toContain('kind: expected "ScoringJob", got "Job"');
  });

  it('reports malformed YAML as SPEC_INVALID naming YAML and the source', () => {
    const err = specError('spec: {input: [unclosed\n', { baseDir: '/jobs', source: 'jobs/bad.yaml' });
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.message).toMatch(/^jobs\/bad\.yaml: not valid YAML/);
    expect(err.retryable).toBe(false);
  });

  it('rejects duplicate YAML keys', () => {
    const err = specError(EXAMPLE.replace('kind: ScoringJob', 'kind: ScoringJob\nkind: ScoringJob'));
    expect(err.code).toBe('SPEC_INVALID');
    expect(err.message).toContain('not valid YAML');
  });

  it('uses "job" as the source when none is given', () => {
    const err = specError('kind: [', { baseDir: '/jobs' });
    expect(err.message).toMatch(/^job: not valid YAML/);
  });

  it('rejects a document that is not a mapping', () => {
    const err = specError('- a\n- b\n');
    expect(err.message).toContain('(document): expected a mapping, got ["a","b"]');
  });

  it('reads spec.validation ranges and maxInvalidFraction, and reports each bad rule', () => {
    const ok = parseJobSpec(
      EXAMPLE +
        '  validation:\n    maxInvalidFraction: 0.01\n    ranges: {age: {min: 18, max: 120}, income: {min: 0}}\n',
      opts,
    );
    expect(ok.spec.validation).toEqual({
      maxInvalidFraction: 0.01,
      ranges: { age: { min: 18, max: 120 }, income: { min: 0 } },
    });
    const err = specError(
      EXAMPLE +
        '  validation:\n    maxInvalidFraction: 1.5\n    ranges: {age: {min: 120, max: 18}, ' +
        'income: {}, loan: {max: .inf}, credit: {mean: 3}}\n',
    );
    expect(err.message.split('\n')).toEqual([
      'job.yaml: spec.validation.ranges.age: min 120 is greater than max 18',
      'job.yaml: spec.validation.ranges.income: needs min, max or both',
      'job.yaml: spec.validation.ranges.loan.max: expected a finite number, got Infinity',
      'job.yaml: spec.validation.ranges.loan: needs min, max or both',
      'job.yaml: spec.validation.ranges.credit.mean: unknown field (expected one of min, max)',
      'job.yaml: spec.validation.ranges.credit: needs min, max or both',
      'job.yaml: spec.validation.maxInvalidFraction: expected a number from 0 to 1 (a fraction ' +
        'of the input rows), got 1.5',
    ]);
  });

  it('reads spec.metrics, spec.cost, spec.quality and spec.notify, and reports each bad field', () => {
    const ok = parseJobSpec(
      EXAMPLE +
        '  metrics: {pushgateway: "http://pushgateway:9091"}\n  cost: {cpuNodeHour: 0.2, ' +
        'gpuNodeHour: 2.5, workersPerNode: 2}\n  quality: {psiThreshold: 0.1, failOnDrift: ' +
        'true}\n  notify: {webhook: {urlFromEnv: SLACK_URL}}\n',
      opts,
    );
    expect(ok.spec.metrics).toEqual({ pushgateway: 'http://pushgateway:9091' });
    expect(ok.spec.cost).toEqual({ cpuNodeHour: 0.2, gpuNodeHour: 2.5, currency: 'USD', workersPerNode: 2 });
    expect(ok.spec.quality).toEqual({ psiThreshold: 0.1, failOnDrift: true, lookbackDays: 7 });
    expect(ok.spec.notify).toEqual({ webhook: { urlFromEnv: 'SLACK_URL' } });
    expect(parseJobSpec(EXAMPLE + '  notify: {webhook: "https://hooks.example/x"}\n', opts).spec.notify).toEqual({
      webhook: { url: 'https://hooks.example/x' },
    });
    const err = specError(
      EXAMPLE +
        '  metrics: {pushgateway: "pushgateway:9091"}\n  cost: {currency: EUR}\n  quality: ' +
        '{psiThreshold: -1, failOnDrift: "yes"}\n  notify: {webhook: {url: "https://a/", ' +
        'urlFromEnv: X}}\n',
    );
    expect(err.message.split('\n')).toEqual([
      'job.yaml: spec.metrics.pushgateway: expected an http(s):// URL, got "pushgateway:9091"',
      'job.yaml: spec.cost: needs cpuNodeHour, gpuNodeHour or both (price per node-hour)',
      'job.yaml: spec.quality.psiThreshold: expected a number ≥ 0, got -1',
      'job.yaml: spec.quality.failOnDrift: expected true or false, got "yes"',
      'job.yaml: spec.notify.webhook: needs exactly one of url or urlFromEnv',
    ]);
  });

  it('rejects non-positive sizes and an unknown input format', () => {
    const err = specError(
      EXAMPLE.replace('rowsPerShard: 250000', 'rowsPerShard: 0').replace('format: parquet', 'format: orc'),
    );
    expect(err.message).toContain('spec.sharding.rowsPerShard: expected a positive integer, got 0');
    expect(err.message).toContain('spec.input.format: expected one of parquet, csv, jsonl, got "orc"');
  });

  it(
    'reads spec.storage.concurrency (default 64, left out of the parsed job when unset) ' +
      'and refuses a non-positive one',
    () => {
      expect(storeConcurrency(parseJobSpec(EXAMPLE, opts))).toBe(64);
      expect(parseJobSpec(EXAMPLE, opts).spec.storage).toEqual({ s3: {} });
      const withIt = parseJobSpec(EXAMPLE + '  storage: {concurrency: 8}\n', opts);
      expect([withIt.spec.storage, storeConcurrency(withIt)]).toEqual([{ s3: {}, concurrency: 8 }, 8]);
      expect(specError(EXAMPLE + '  storage: {concurrency: 0}\n').message).toContain(
        'spec.storage.concurrency: expected a positive integer, got 0',
      );
    },
  );
});

describe('toScoringJob', () => {
  it('returns the job and no problems for a valid document', () => {
    const r = toScoringJob(rawJob(), '/jobs');
    expect(r.problems).toEqual([]);
    expect(r.job?.metadata.name).toBe('credit-risk');
    expect(r.job?.spec.output.rowsPerPart).toBe(1_000_000);
  });

  it('returns every problem as {path, message} and no job', () => {
    const raw = rawJob();
    raw.spec.model.outputs.push({ name: 'label', column: 'default_probability' });
    raw.spec.model.inputs[0].columns = ['age', 'age', '__batchscore_x'];
    const r = toScoringJob(raw, '/jobs');
    expect(r.job).toBeUndefined();
    expect(r.problems).toEqual([
      {
        path: 'spec.model.inputs[0].columns[2]',
        message: '"__batchscore_x" is not a valid column name: names starting with __batchscore_ are batchscore\'s own',
      },
      { path: 'spec.model.inputs[0].columns', message: 'column "age" appears more than once' },
      {
        path: 'spec.output',
        message:
          'column (passthrough and model output columns share one table) "default_probability" appears more than once',
      },
    ]);
  });

  it('takes any column name Parquet and CSV allow: blanks, commas, quotes, line breaks, unicode, digits', () => {
    const names = [
      'Annual Income',
      'income, usd',
      'say "hi"',
      'two\nlines',
      'naïve €',
      '日本語',
      '9lives',
      'a=b/c',
      ' ',
    ];
    const raw = rawJob();
    raw.spec.model.inputs[0].columns = names.slice(0, 4);
    raw.spec.model.outputs[0].column = 'p(default), %';
    raw.spec.output.passthrough = names;
    raw.spec.output.partitionBy = ['a=b/c'];
    raw.spec.validation = { ranges: { 'income, usd': { min: 0 }, 日本語: { max: 1 } } };
    const r = toScoringJob(raw, '/jobs');
    expect(r.problems).toEqual([]);
    expect(r.job!.spec.model.inputs[0]!.columns).toEqual(names.slice(0, 4));
    expect(r.job!.spec.output.passthrough).toEqual(names);
    expect(Object.keys(r.job!.spec.validation.ranges)).toEqual(['income, usd', '日本語']);
    // The empty name is no name; batchscore's own prefix is taken.
    raw.spec.output.passthrough = ['', 'ok'];
    raw.spec.validation = { ranges: { __batchscore_text_issue: { min: 0 } } };
    raw.spec.output.partitionBy = [];
    expect(toScoringJob(raw, '/jobs').problems).toEqual([
      { path: 'spec.output.passthrough[0]', message: '"" is not a valid column name (any text but the empty string)' },
      {
        path: 'spec.validation.ranges.__batchscore_text_issue',
        message:
          '"__batchscore_text_issue" is not a valid column name: names starting with __batchscore_ are ' +
          "batchscore's own",
      },
    ]);
  });

  it('reads outputs[].label (a class of a ZipMap output), a string or an integer, and not with index', () => {
    const raw = rawJob();
    raw.spec.model.outputs = [
      { name: 'output_probability', label: 1, column: 'p1' },
      { name: 'output_probability', label: 'churned', column: 'p2' },
    ];
    expect(toScoringJob(raw, '/jobs').job?.spec.model.outputs).toEqual([
      { name: 'output_probability', label: 1, column: 'p1' },
      { name: 'output_probability', label: 'churned', column: 'p2' },
    ]);
    raw.spec.model.outputs = [
      { name: 'p', label: 1.5, column: 'a' },
      { name: 'p', label: 1, index: 0, column: 'b' },
    ];
    expect(toScoringJob(raw, '/jobs').problems).toEqual([
      { path: 'spec.model.outputs[0].label', message: 'expected a class label (a string or an integer), got 1.5' },
      { path: 'spec.model.outputs[1].label', message: 'give index (a position) or label (a class), not both' },
    ]);
  });

  it('reads spec.validation.nullStrings: empty (absent: quarantine) and refuses another value', () => {
    const raw = rawJob();
    raw.spec.validation = { nullStrings: 'empty' };
    expect(toScoringJob(raw, '/jobs').job?.spec.validation).toEqual({
      ranges: {},
      maxInvalidFraction: 0.001,
      nullStrings: 'empty',
    });
    raw.spec.validation = { nullStrings: 'quarantine' };
    expect(toScoringJob(raw, '/jobs').job?.spec.validation).toEqual({ ranges: {}, maxInvalidFraction: 0.001 });
    raw.spec.validation = { nullStrings: 'skip' };
    expect(toScoringJob(raw, '/jobs').problems).toEqual([
      { path: 'spec.validation.nullStrings', message: 'expected quarantine (the default) or empty, got "skip"' },
    ]);
  });

  it('flags a missing root field as required', () => {
    const raw = rawJob();
    delete raw.spec.model;
    const r = toScoringJob(raw, '/jobs');
    expect(r.problems).toContainEqual({ path: 'spec.model', message: 'is required' });
  });
});

describe('resolveUri', () => {
  it('resolves plain relative and absolute paths to file:// URIs', () => {
    expect(resolveUri('data/', '/jobs', true)).toEqual({ uri: 'file:///jobs/data/' });
    expect(resolveUri('../m/model.onnx', '/jobs/a', false)).toEqual({ uri: 'file:///jobs/m/model.onnx' });
    expect(resolveUri('/abs/dir', '/jobs', true)).toEqual({ uri: 'file:///abs/dir/' });
  });

  it('reads the file: scheme in any case, as RFC 3986 says (the JSON Schema does too)', () => {
    expect(resolveUri('FILE:///models/credit.onnx', '/jobs', false)).toEqual({ uri: 'file:///models/credit.onnx' });
    expect(resolveUri('File://host/x', '/', true)).toEqual({
      error: '"File://host/x": file URIs with a host are not supported; use file:///absolute/path or a relative path',
    });
  });

  it('keeps file:/// URIs and escapes spaces', () => {
    expect(resolveUri('file:///models/credit.onnx', '/jobs', false)).toEqual({ uri: 'file:///models/credit.onnx' });
    expect(resolveUri('file:///data/my%20files/', '/jobs', true)).toEqual({ uri: 'file:///data/my%20files/' });
    expect(resolveUri('my files', '/jobs', true)).toEqual({ uri: 'file:///jobs/my%20files/' });
  });

  it("'auto' makes a folder unless the name has a data file extension", () => {
    expect(resolveUri('s3://bucket/prefix', '/', 'auto')).toEqual({ uri: 's3://bucket/prefix/' });
    expect(resolveUri('s3://bucket', '/', 'auto')).toEqual({ uri: 's3://bucket/' });
    expect(resolveUri('s3://bucket/a.CSV', '/', 'auto')).toEqual({ uri: 's3://bucket/a.CSV' });
    expect(resolveUri('x.jsonl', '/d', 'auto')).toEqual({ uri: 'file:///d/x.jsonl' });
  });

  it('rejects a folder where a file is needed, and bad URIs', () => {
    expect(resolveUri('s3://bucket/models/', '/', false)).toEqual({
      error: '"s3://bucket/models/" must name an object, not a folder',
    });
    expect(resolveUri('s3://bucket', '/', false)).toEqual({ error: '"s3://bucket" must name an object, not a folder' });
    expect(resolveUri('models/', '/jobs', false)).toEqual({ error: '"models/" must name a file, not a folder' });
    expect(resolveUri('s3://B/x', '/', true)).toEqual({ error: '"s3://B/x" is not a valid s3://bucket/key URI' });
    expect(resolveUri('file://host/x', '/', true)).toEqual({
      error: '"file://host/x": file URIs with a host are not supported; use file:///absolute/path or a relative path',
    });
    expect(resolveUri('gs://x/y', '/', true)).toEqual({
      error: 'unknown URI scheme "gs:" in "gs://x/y": expected s3://, file:// or a path',
    });
  });
});

describe('resolveUri with characters URLs treat specially', () => {
  it(
    "escapes '#', '?' and '%' in paths so the URI names the same folder, and leaves plain " + 'paths undecoded',
    async () => {
      const { fileURLToPath } = await import('node:url');
      for (const [input, dir] of [
        ['data/run#1/', '/jobs/data/run#1'],
        ['data/a?b/', '/jobs/data/a?b'],
        ['data/100%/', '/jobs/data/100%'],
        ['data/x%41/', '/jobs/data/x%41'],
      ] as const) {
        const r = resolveUri(input, '/jobs', true);
        expect('uri' in r && fileURLToPath(r.uri)).toBe(dir + '/');
      }
      expect(resolveUri('file:///data/x%41/', '/jobs', true)).toEqual({ uri: 'file:///data/xA/' });
    },
  );
});

describe('withDate', () => {
  it('replaces every "{date}"', () => {
    expect(withDate('s3://b/{date}/x-{date}/', '2024-03-01')).toBe('s3://b/2024-03-01/x-2024-03-01/');
    expect(withDate('s3://b/in/', '2024-03-01')).toBe('s3://b/in/');
  });
});

describe('isValidDate', () => {
  it('accepts real calendar dates only, in YYYY-MM-DD form', () => {
    expect(isValidDate('2024-02-29')).toBe(true);
    expect(isValidDate('2024-02-30')).toBe(false);
    expect(isValidDate('2023-02-29')).toBe(false);
    expect(isValidDate('2024-13-01')).toBe(false);
    expect(isValidDate('2024-1-01')).toBe(false);
    expect(isValidDate('20240101')).toBe(false);
    expect(isValidDate('2024-12-31')).toBe(true);
  });
});

describe('output and quarantine may not overlap the input', () => {
  const job = (input: string, output: string, extra = '') => `
apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: j1}
spec:
  input: {uri: "${input}"}
  model: {uri: m.onnx, version: v1, inputs: [{name: x, columns: [a]}], outputs: [{name: y, column: score}]}
  output: {uri: "${output}"${extra}}
`;
  const rule =
    '(one is inside the other): output would be read back as input; choose an output folder outside the input';

  it(
    'refuses an output equal to the input, inside it, or holding it, after resolving ' + 'relative paths and {date}',
    () => {
      expect(specError(job('in/', 'in/')).message).toBe(
        `job.yaml: spec.output.uri: "file:///jobs/in/" overlaps spec.input.uri "file:///jobs/in/" ${rule}`,
      );
      expect(specError(job('in', './in/out')).message).toBe(
        `job.yaml: spec.output.uri: "file:///jobs/in/out/" overlaps spec.input.uri "file:///jobs/in/" ${rule}`,
      );
      expect(specError(job('data/in/', 'data/')).message).toBe(
        `job.yaml: spec.output.uri: "file:///jobs/data/" overlaps spec.input.uri "file:///jobs/data/in/" ${rule}`,
      );
      expect(specError(job('s3://bkt/in/', 's3://bkt/in/scores/')).code).toBe('SPEC_INVALID');
      // {date} stands for any date: the output holds every date's input, or sits inside one date's folder.
      expect(specError(job('lake/{date}/', 'lake/')).message).toContain(
        'overlaps spec.input.uri "file:///jobs/lake/{date}/"',
      );
      expect(specError(job('lake/{date}/', 'lake/2024-01-01/out/')).message).toContain('overlaps');
      expect(specError(job('lake/{date}/in/', 'lake/2024-01-01/')).message).toContain('overlaps');
      expect(specError(job('/abs/in/', 'file:///abs/in/x/')).message).toContain('overlaps');
    },
  );

  it('names both locations whole, however long: cut, two URIs that differ at the end would read the same', () => {
    const deep = 's3://a-bucket-with-a-long-name/team/scoring/landing-zone/customers/';
    expect(specError(job(deep, `${deep}scores/`)).message).toBe(
      `job.yaml: spec.output.uri: "${deep}scores/" overlaps spec.input.uri "${deep}" ${rule}`,
    );
    expect(specError(job(deep, 's3://out/x/', `, quarantineUri: "${deep}bad/"`)).message).toBe(
      `job.yaml: spec.output.quarantineUri: "${deep}bad/" overlaps spec.input.uri "${deep}" ` +
        '(one is inside the other); choose a folder outside the input',
    );
  });

  it('accepts neighbours that share only a name prefix, other buckets, and dates that cannot match', () => {
    expect(parseJobSpec(job('in/', 'in2/'), opts).spec.output.uri).toBe('file:///jobs/in2/');
    expect(parseJobSpec(job('s3://bkt/in/', 's3://cbk/in/'), opts).spec.output.uri).toBe('s3://cbk/in/');
    expect(parseJobSpec(job('lake/{date}/in/', 'lake/scores/'), opts).spec.output.uri).toBe(
      'file:///jobs/lake/scores/',
    );
    expect(parseJobSpec(job('in/data.parquet', 'in/out/'), opts).spec.output.uri).toBe('file:///jobs/in/out/');
  });

  it(
    'places the quarantine in the output by default, or where spec.output.quarantineUri ' +
      'says, never over the input or among the data',
    () => {
      expect(parseJobSpec(job('in/', 'out/'), opts).spec.output.quarantineUri).toBe('file:///jobs/out/_quarantine/');
      expect(
        parseJobSpec(job('in/', 'out/', ', quarantineUri: "s3://bad-rows/credit/"'), opts).spec.output.quarantineUri,
      ).toBe('s3://bad-rows/credit/');
      expect(parseJobSpec(job('in/', 'out/', ', quarantineUri: "out/_bad"'), opts).spec.output.quarantineUri).toBe(
        'file:///jobs/out/_bad/',
      );
      expect(specError(job('in/', 'out/', ', quarantineUri: "in/bad/"')).message).toBe(
        'job.yaml: spec.output.quarantineUri: "file:///jobs/in/bad/" overlaps spec.input.uri ' +
          '"file:///jobs/in/" (one is inside the other); choose a folder outside the input',
      );
      expect(specError(job('in/', 'out/', ', quarantineUri: "out/bad/"')).message).toBe(
        `job.yaml: spec.output.quarantineUri: "file:///jobs/out/bad/" is inside spec.output.uri, ` +
          `so its first folder below the output must start with '_' (dataset readers skip those) ` +
          `and not be _batchscore; got "bad"`,
      );
      expect(specError(job('in/', 'out/', ', quarantineUri: "out/_batchscore/q/"')).message).toContain(
        'got "_batchscore"',
      );
      expect(specError(job('in/', 'out/x/', ', quarantineUri: "out/"')).message).toBe(
        'job.yaml: spec.output.quarantineUri: "file:///jobs/out/" contains spec.output.uri ' +
          '"file:///jobs/out/x/"; quarantined rows would be read as output',
      );
    },
  );

  it('keeps the bookkeeping in the output unless spec.output.bookkeepingUri names a folder beside it', () => {
    expect(parseJobSpec(job('in/', 'out/'), opts).spec.output.bookkeepingUri).toBeUndefined();
    expect(parseJobSpec(job('in/', 'out/', ', bookkeepingUri: "state"'), opts).spec.output.bookkeepingUri).toBe(
      'file:///jobs/state/',
    );
    expect(parseJobSpec(job('in/', 'out/', ', bookkeepingUri: "out/_runs/"'), opts).spec.output.bookkeepingUri).toBe(
      'file:///jobs/out/_runs/',
    );
    expect(specError(job('in/', 'out/', ', bookkeepingUri: "in/state/"')).message).toBe(
      'job.yaml: spec.output.bookkeepingUri: "file:///jobs/in/state/" overlaps spec.input.uri ' +
        '"file:///jobs/in/" (one is inside the other); choose a folder outside the input',
    );
    expect(specError(job('in/', 'out/x/', ', bookkeepingUri: "out/"')).message).toBe(
      'job.yaml: spec.output.bookkeepingUri: "file:///jobs/out/" contains spec.output.uri "file:///jobs/out/x/"; ' +
        "choose a folder beside the output (or a '_' folder inside it)",
    );
    expect(specError(job('in/', 'out/', ', bookkeepingUri: "out/state/"')).message).toBe(
      'job.yaml: spec.output.bookkeepingUri: "file:///jobs/out/state/" is inside spec.output.uri, so its first ' +
        'folder below the output must start with \'_\' (dataset readers skip those); got "state"',
    );
  });
});
