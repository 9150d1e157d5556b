import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as arrow from 'apache-arrow';
import type { BatchManifest } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, expect } from 'vitest';
import { CREDIT_MODEL } from '../../support/cli.js';
import { readManifest, readOutputRows } from '../../support/output.js';
import { compareToReference, referenceScores } from '../../support/reference.js';
import { startS3, type S3Server } from '../../support/s3server.js';

/** What a cluster test file shares: one S3 server and bucket holding the credit model, and a folder for job files. */
export interface ClusterFixture {
  s3: S3Server;
  bucket: string;
  store: S3Store;
  dir: string;
}

/** Sets the fixture up before the file's tests (moto on loopback, the model uploaded) and stops it after them. */
export function useModelBucket(name: string): ClusterFixture {
  const fx = {} as ClusterFixture;
  beforeAll(async () => {
    fx.s3 = await startS3();
    fx.bucket = await fx.s3.bucket(name);
    fx.store = new S3Store({ bucket: fx.bucket, prefix: '', client: fx.s3.client });
    await fx.store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
    fx.dir = await mkdtemp(path.join(tmpdir(), `${name}-`));
  });
  afterAll(async () => fx.s3?.stop());
  return fx;
}

/**
 * Writes a credit-model job on the fixture's bucket (input `{prefix}/in/dt={date}/`, output `{prefix}/out/`) whose
 * pods reach S3 at `endpoint` (moto, or a fault proxy in front of it); `extra` goes under spec, `cluster` under
 * spec.cluster, `rowsPerPart` to spec.output. Returns the file.
 */
export async function clusterJob(
  fx: ClusterFixture,
  o: {
    name: string;
    prefix: string;
    rowsPerShard: number;
    rowsPerPart?: number;
    endpoint?: string;
    extra?: string;
    cluster?: string;
  },
): Promise<string> {
  const file = path.join(fx.dir, `${o.name}.yaml`);
  await writeFile(
    file,
    `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: ${o.name}}
spec:
  input: {uri: "s3://${fx.bucket}/${o.prefix}/in/dt={date}/", format: parquet}
  model:
    uri: "s3://${fx.bucket}/models/credit.onnx"
    version: v3
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: default_probability}]
  output: {uri: "s3://${fx.bucket}/${o.prefix}/out/", passthrough: [customer_id]${o.rowsPerPart ? `, rowsPerPart: ${o.rowsPerPart}` : ''}}
  sharding: {rowsPerShard: ${o.rowsPerShard}}
${o.extra ?? ''}  cluster:
    s3Secret: {name: batchscore-s3}
    env:
      AWS_REGION: us-east-1
      AWS_ENDPOINT_URL_S3: "${o.endpoint ?? fx.s3.endpoint}"
      BATCHSCORE_S3_FORCE_PATH_STYLE: "1"
${o.cluster ?? ''}`,
  );
  return file;
}

/** Every input row once in the date's published output, with onnxruntime's own score bit for bit; the manifest. */
export async function expectExactlyOnce(
  fx: ClusterFixture,
  prefix: string,
  date: string,
  table: arrow.Table,
): Promise<BatchManifest> {
  const out = new S3Store({ bucket: fx.bucket, prefix: `${prefix}/out/`, client: fx.s3.client });
  const m = await readManifest(out, date);
  const { table: scored } = await readOutputRows(out, m);
  const cmp = compareToReference(
    scored,
    table.getChild('customer_id')!.toArray() as BigInt64Array,
    await referenceScores(table),
  );
  expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: table.numRows });
  return m;
}
