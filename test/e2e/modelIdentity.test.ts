import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore, sha256Hex, type ObjectStore, type PlanHeader } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODELS, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readJson, readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

/**
 * A model whose weights are ONNX external data (the credit model, its tensors moved to two files beside it) is
 * scored with the weights beside the model, on disk and on S3, never with files of those names in the process's
 * working directory; the plan and the manifest record every file's bytes, and a changed weights file is a changed
 * model.
 */

const DATE = '2024-08-01';
const EXTERNAL = path.join(FIXTURE_MODELS, 'external');
const DATA_FILES = ['credit_external.onnx.data', 'weights/gemm.bin'];

async function fixture() {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-extdata-'));
  await cp(EXTERNAL, path.join(dir, 'model'), { recursive: true });
  const { table } = await writeCustomers(new LocalStore(dir), 'in/', 3_000, 3_000, 1_000);
  await writeFile(
    path.join(dir, 'job.yaml'),
    jobYaml({ input: `${dir}/in/`, model: `${dir}/model/credit_external.onnx`, output: `${dir}/out/` }),
  );
  return { dir, table, job: path.join(dir, 'job.yaml') };
}

/** Files named as the model's data files, holding other weights: what a stray working directory might hold. */
async function decoys(where: string) {
  await mkdir(path.join(where, 'weights'), { recursive: true });
  await writeFile(path.join(where, 'credit_external.onnx.data'), new Uint8Array(32));
  await writeFile(path.join(where, 'weights', 'gemm.bin'), Buffer.from(new Float32Array(10).fill(3).buffer));
}

async function fileEntry(dir: string, rel: string) {
  const bytes = await readFile(path.join(dir, rel));
  return { path: rel, bytes: bytes.length, sha256: sha256Hex(bytes) };
}

describe('a model with external data, on disk', () => {
  it('is scored with the weights beside it, whatever the working directory holds', async () => {
    const { dir, table, job } = await fixture();
    const cwd = path.join(dir, 'elsewhere');
    await decoys(cwd);
    const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '1'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const m = await readManifest(out, DATE);
    const { table: scored } = await readOutputRows(out, m);
    // Its weights are the credit model's: the scores are the credit model's, bit for bit.
    const cmp = compareToReference(
      scored,
      table.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(table),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 3_000 });

    // The manifest and the plan record every byte the model is.
    const graph = await readFile(path.join(dir, 'model', 'credit_external.onnx'));
    const externalData = await Promise.all(DATA_FILES.map((f) => fileEntry(path.join(dir, 'model'), f)));
    expect(m.model).toEqual({
      uri: `file://${dir}/model/credit_external.onnx`,
      version: 'v3',
      sha256: sha256Hex(graph),
      external_data: externalData,
    });
    const plan = await readJson<PlanHeader>(out, `_batchscore/${DATE}/v3/plan.json`);
    expect(plan.model).toEqual({
      uri: m.model.uri,
      version: 'v3',
      sha256: sha256Hex(graph),
      bytes: graph.length,
      externalData,
    });
    const id = sha256Hex(JSON.stringify([sha256Hex(graph), ...externalData.map((f) => [f.path, f.sha256])]));
    expect(m.run_id).toBe(`credit-risk-${DATE}-v3-${id.slice(0, 12)}`);

    // validate opens it the same way.
    const v = await runCli(['validate', job], { cwd });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('a weights file changed after planning fails the shard; after publishing, it is another model', async () => {
    const { dir, job } = await fixture();
    const p = await runCli(['plan', job, '--date', DATE]);
    expect(p.code, p.stderr).toBe(0);
    const gemm = path.join(dir, 'model', 'weights', 'gemm.bin');
    const original = await readFile(gemm);
    await writeFile(gemm, Buffer.from(new Float32Array(10).fill(1).buffer));
    const s = await runCli(['score', job, '--date', DATE, '--shard', '0']);
    expect(s.code, s.stderr).toBe(65);
    expect(s.stderr).toContain(
      `error [MODEL_INVALID]: file://${gemm}: sha256 ${sha256Hex(await readFile(gemm)).slice(0, 12)}… differs from ` +
        `${sha256Hex(original).slice(0, 12)}… recorded by the plan; the model changed after planning, plan again`,
    );

    await writeFile(gemm, original);
    expect((await runCli(['run', job, '--local', '--date', DATE])).code).toBe(0);
    await writeFile(gemm, Buffer.from(new Float32Array(10).fill(1).buffer));
    const again = await runCli(['run', job, '--local', '--date', DATE]);
    expect(again.code, again.stderr).toBe(65);
    // The graph file is the same; the run ids differ because the weights do (modelId covers every file).
    const ids = /the output already holds a complete run (\S+) .*; this run is (\S+)\. /.exec(again.stderr);
    expect(again.stderr).toContain('error [RUN_CONFLICT]');
    expect(ids?.[1]).toMatch(new RegExp(`^credit-risk-${DATE}-v3-\\w{12}$`));
    expect(ids?.[2]).toMatch(new RegExp(`^credit-risk-${DATE}-v3-\\w{12}$`));
    expect(ids?.[1]).not.toBe(ids?.[2]);
  });

  it.each([
    ['leaves the model’s folder', '../eights/gm.bin'],
    ['is not a relative path', '/eights/gemm.bin'],
  ])('a data file that %s is refused in one line', async (why, location) => {
    const { dir, job } = await fixture();
    const file = path.join(dir, 'model', 'credit_external.onnx');
    // Same length as "weights/gemm.bin", so the protobuf's lengths still hold.
    const bytes = Buffer.from(
      (await readFile(file)).toString('latin1').replace('weights/gemm.bin', location),
      'latin1',
    );
    await writeFile(file, bytes);
    for (const cmd of [
      ['plan', job, '--date', DATE],
      ['validate', job],
    ]) {
      const r = await runCli(cmd);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stdout + r.stderr).toContain(
        `file://${file}: tensor "weights" keeps its data in "${location}", which ${why}; external data must be a ` +
          `file in the model's folder`,
      );
    }
  });

  it('a data file missing from beside the model is refused at planning, naming it', async () => {
    const { dir, job } = await fixture();
    await rm(path.join(dir, 'model', 'weights', 'gemm.bin'));
    // A file of its name in the working directory does not stand in for it.
    await decoys(dir);
    const r = await runCli(['plan', job, '--date', DATE], { cwd: dir });
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toContain(
      `error [MODEL_INVALID]: file://${dir}/model/credit_external.onnx: tensor "weights" keeps its data in ` +
        `"weights/gemm.bin", which is not beside the model (file://${dir}/model/weights/gemm.bin does not exist)`,
    );
  });
});

describe('a model with external data, on S3', () => {
  let s3: S3Server;
  let bucket: string;
  let store: ObjectStore;

  beforeAll(async () => {
    s3 = await startS3();
    bucket = await s3.bucket('bs-extdata');
    store = new S3Store({ bucket, prefix: '', client: s3.client });
  });
  afterAll(async () => s3?.stop());

  it('has its data files fetched from beside it into a private folder, and scores as the credit model', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-extdata-s3-'));
    for (const f of ['credit_external.onnx', ...DATA_FILES])
      await store.put(`models/${f}`, await readFile(path.join(EXTERNAL, f)));
    const { table } = await writeCustomers(store, 'in/', 2_000, 2_000, 1_000);
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: `s3://${bucket}/in/`,
        model: `s3://${bucket}/models/credit_external.onnx`,
        output: `s3://${bucket}/out/`,
      }),
    );
    await decoys(dir);
    const r = await runCli(['run', job, '--local', '--date', DATE], { env: s3Env(s3.endpoint), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
    const m = await readManifest(out, DATE);
    expect(m.model.external_data!.map((f) => f.path)).toEqual(DATA_FILES);
    const { table: scored } = await readOutputRows(out, m);
    const cmp = compareToReference(
      scored,
      table.getChild('customer_id')!.toArray() as BigInt64Array,
      await referenceScores(table),
    );
    expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: 0, rows: 2_000 });
  });
});
