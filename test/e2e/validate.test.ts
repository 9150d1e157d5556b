import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, parseJobSpec, toParquetBytes } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { customersAsText, jobYaml, makeCustomers } from '../support/data.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const DATE = '2024-06-01';
// Without --date, validate checks today's (UTC) input, as run does.
const TODAY = new Date().toISOString().slice(0, 10);
const COLUMNS = 'customer_id, age, income, credit, loan';
const E = (rest: string) => `batchscore: error [SPEC_INVALID]: ${rest}`;

type JobOptions = Partial<Parameters<typeof jobYaml>[0]>;
const good = (o: JobOptions = {}) => jobYaml({ input: 'in/{date}/', model: CREDIT_MODEL, output: 'out/', ...o });

/** A folder with the dated Parquet input and a job file; returns the folder and the job file's path. */
async function setup(
  job: string,
  files: Record<string, arrow.Table | string> = { [`in/${TODAY}/a.parquet`]: makeCustomers(50) },
) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-validate-'));
  const store = new LocalStore(dir);
  for (const [key, t] of Object.entries(files)) await store.put(key, typeof t === 'string' ? t : toParquetBytes(t));
  await writeFile(path.join(dir, 'job.yaml'), job);
  return { dir, file: path.join(dir, 'job.yaml') };
}

/** The error lines, with the one warning a machine without CUDA may print left out. */
const errorLines = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('batchscore: warning: CUDA is not available'));

// The four problems of issue 11, each of which `validate` used to pass and only the run caught.
const WRONG_INPUT = { inputs: '[{name: feats, columns: [age, income, credit, loan]}]' };
const WRONG_INDEX = { outputs: '[{name: probabilities, index: 2, column: default_probability}]' };
const WRONG_PASSTHROUGH = { passthrough: ['customer_id', 'segment'] };
const wrongInputLines = [
  E(`file://${CREDIT_MODEL}: spec.model.inputs[0].name: the model has no input "feats" (it has features)`),
  E(`file://${CREDIT_MODEL}: spec.model.inputs: the model's input "features" is not given any columns`),
];
const wrongIndexLine = E(
  `file://${CREDIT_MODEL}: spec.model.outputs[0].index: 2 is out of range for output "probabilities" of shape [N, 2]`,
);
const wrongPassthroughLine = (dir: string) =>
  E(`file://${dir}/in/${TODAY}/a.parquet: column "segment" not found (the file has ${COLUMNS})`);

describe('batchscore validate opens the model and reads the input footers', () => {
  it('a model input name the model does not have', async () => {
    const { file } = await setup(good(WRONG_INPUT));
    const r = await runCli(['validate', file]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual(wrongInputLines);
    expect(r.stdout).toBe('');
  });

  it('an output index beyond the static last axis of the output', async () => {
    const { file } = await setup(good(WRONG_INDEX));
    const r = await runCli(['validate', file]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([wrongIndexLine]);
  });

  it('a model file that does not exist', async () => {
    const { dir, file } = await setup(good({ model: 'models/none.onnx' }));
    const r = await runCli(['validate', file]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([
      E(`file://${dir}/models/none.onnx: model file does not exist (spec.model.uri)`),
    ]);
  });

  it('a passthrough column the data does not have', async () => {
    const { dir, file } = await setup(good(WRONG_PASSTHROUGH));
    const r = await runCli(['validate', file]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([wrongPassthroughLine(dir)]);
  });

  it('reports every problem in one run', async () => {
    const { dir, file } = await setup(good({ ...WRONG_INPUT, ...WRONG_INDEX, ...WRONG_PASSTHROUGH }));
    const r = await runCli(['validate', file]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([wrongPassthroughLine(dir), ...wrongInputLines, wrongIndexLine]);

    // A missing model leaves nothing to bind against, so the fourth problem is shown beside the data's.
    const missing = await setup(good({ ...WRONG_PASSTHROUGH, model: 'models/none.onnx' }));
    const m = await runCli(['validate', missing.file]);
    expect(m.code, m.stderr).toBe(65);
    expect(errorLines(m.stderr)).toEqual([
      wrongPassthroughLine(missing.dir),
      E(`file://${missing.dir}/models/none.onnx: model file does not exist (spec.model.uri)`),
    ]);
  });

  it('a good job exits 0 and prints the resolved job, for the --date given', async () => {
    const { dir, file } = await setup(good(), { [`in/${DATE}/a.parquet`]: makeCustomers(50) });
    const r = await runCli(['validate', file, '--date', DATE]);
    expect(r.code, r.stderr).toBe(0);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(JSON.parse(r.stdout)).toEqual(
      JSON.parse(JSON.stringify(parseJobSpec(await readFile(file, 'utf8'), { baseDir: dir, source: file }))),
    );
  });

  it('--offline checks only the spec: the job with the four problems passes', async () => {
    const { dir, file } = await setup(
      good({ ...WRONG_INPUT, ...WRONG_INDEX, ...WRONG_PASSTHROUGH, model: 'models/none.onnx' }),
      {},
    );
    const r = await runCli(['validate', file, '--offline']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(
      JSON.parse(JSON.stringify(parseJobSpec(await readFile(file, 'utf8'), { baseDir: dir, source: file }))),
    );
  });

  it('no input files for the date is a problem line, reported with the model problems', async () => {
    const { dir, file } = await setup(good(WRONG_INDEX));
    const r = await runCli(['validate', file, '--date', DATE]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([
      E(`file://${dir}/in/${DATE}/: no parquet files found; spec.input.format is parquet`),
      wrongIndexLine,
    ]);
  });

  it('reads the first 3 files by name, and reports each of them', async () => {
    const noSegment = makeCustomers(5);
    const withSegment = new arrow.Table({
      ...Object.fromEntries(noSegment.schema.fields.map((f) => [f.name, noSegment.getChild(f.name)!])),
      segment: arrow.vectorFromArray(['a', 'b', 'c', 'd', 'e'], new arrow.Utf8()),
    });
    const p = `in/${DATE}/`;
    // b and c lack the column; d lacks it too, but is the fourth file by name and is not read.
    const files = {
      [`${p}a.parquet`]: withSegment,
      [`${p}c.parquet`]: noSegment,
      [`${p}b.parquet`]: noSegment,
      [`${p}d.parquet`]: noSegment,
    };
    const { dir, file } = await setup(good(WRONG_PASSTHROUGH), files);
    const r = await runCli(['validate', file, '--date', DATE]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([
      E(`file://${dir}/${p}b.parquet: column "segment" not found (the file has ${COLUMNS})`),
      E(`file://${dir}/${p}c.parquet: column "segment" not found (the file has ${COLUMNS})`),
    ]);
  });

  it('reads only the header line of a CSV file', async () => {
    const csv = customersAsText(makeCustomers(20), 'csv');
    const { dir, file } = await setup(good({ ...WRONG_PASSTHROUGH, format: 'csv' }), { [`in/${DATE}/a.csv`]: csv });
    const r = await runCli(['validate', file, '--date', DATE]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([
      E(`file://${dir}/in/${DATE}/a.csv: column "segment" not found in the CSV header (${COLUMNS})`),
    ]);
  });
});

describe('batchscore validate against an S3-protocol server', () => {
  let s3: S3Server;
  let bucket: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    s3 = await startS3();
    bucket = await s3.bucket('bs-validate');
    env = s3Env(s3.endpoint);
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    await store.put(`in/${DATE}/a.parquet`, toParquetBytes(makeCustomers(50)));
  });
  afterAll(async () => s3?.stop());

  it('reads the footer and the model from S3 and reports the problems of both', async () => {
    const model = `s3://${bucket}/models/credit.onnx`;
    const { file } = await setup(
      good({
        ...WRONG_INDEX,
        ...WRONG_PASSTHROUGH,
        input: `s3://${bucket}/in/{date}/`,
        model,
        output: `s3://${bucket}/out/`,
      }),
      {},
    );
    const r = await runCli(['validate', file, '--date', DATE], { env });
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([
      E(`s3://${bucket}/in/${DATE}/a.parquet: column "segment" not found (the file has ${COLUMNS})`),
      E(`${model}: spec.model.outputs[0].index: 2 is out of range for output "probabilities" of shape [N, 2]`),
    ]);
  });
});
