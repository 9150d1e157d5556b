import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPlan, writePlan } from '@batchscore/coordinator';
import {
  BatchscoreError,
  openStore,
  outputLayout,
  parseJobSpec,
  toShardRecord,
  type BatchManifest,
  type ShardPlan,
  type StoreFactory,
} from '@batchscore/core';
import { mergeRun } from '@batchscore/merge';
import { checkColumnKinds, loadModel, scoreShard } from '@batchscore/worker';
import { FIXTURE_MODELS } from '../cli.js';
import { modelInputs, outputColumn, perElement, type TestCase } from './testCase.js';
import { writeInput } from './writeInput.js';

export const DATE = '2024-06-01';

/** The job of a case, as JSON (which YAML reads as it is). */
export function jobOf(c: TestCase): string {
  const model = 'all' in c.model ? 'echo_all.onnx' : `echo_${c.model.dtype}.onnx`;
  const outputs = modelInputs(c).flatMap((inp) => {
    const y = 'all' in c.model ? `y_${inp.name.slice(2)}` : 'y';
    return perElement(c, inp)
      ? inp.columns.map((_, j) => ({ name: y, index: j, column: outputColumn(inp.name, j) }))
      : [{ name: y, column: outputColumn(inp.name, 'row') }];
  });
  return JSON.stringify({
    apiVersion: 'batchscore.dev/v1alpha1',
    kind: 'ScoringJob',
    metadata: { name: 'generative' },
    spec: {
      input: {
        uri: 'in/',
        format: c.format,
        allowEmpty: true,
        ...(c.format === 'csv' && c.csv.delimiter !== ',' ? { csv: { delimiter: c.csv.delimiter } } : {}),
      },
      model: {
        uri: path.join(FIXTURE_MODELS, model),
        version: 'v1',
        inputs: Object.entries(c.bind).map(([name, columns]) => ({ name, columns })),
        outputs,
      },
      output: { uri: 'out/', passthrough: c.passthrough, partitionBy: c.partitionBy, rowsPerPart: c.rowsPerPart },
      sharding: { rowsPerShard: c.rowsPerShard, bytesPerShard: c.bytesPerShard },
      worker: { batchSize: c.batchSize, device: 'cpu' },
      validation: { maxInvalidFraction: 1 },
    },
  });
}

export interface CaseRun {
  dir: string;
  plan?: ShardPlan;
  manifest?: BatchManifest;
  error?: unknown;
}

const open: StoreFactory = (uri) => openStore(uri, {});

/**
 * Writes a case's input and runs it in this process, as `run --local` runs it (plan, every shard with one model
 * session, merge) without its worker processes, which would add only start-up time here.
 */
export async function runCase(c: TestCase): Promise<CaseRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-gen-'));
  await writeInput(path.join(dir, 'in'), c);
  try {
    const job = parseJobSpec(jobOf(c), { baseDir: dir });
    const plan = await createPlan(job, DATE, open);
    const model = await loadModel(job, open, { expectSha256: plan.model.sha256, threads: 1 });
    try {
      checkColumnKinds(plan, model.inputs);
      await writePlan(open(outputLayout(job).bookkeeping), plan);
      for (const s of plan.shards) await scoreShard(plan, toShardRecord(plan, s), open, { model });
    } finally {
      await model.session.release();
    }
    const { manifest } = await mergeRun(plan, open);
    return { dir, plan, manifest };
  } catch (error) {
    if (!(error instanceof BatchscoreError)) throw error;
    return { dir, error };
  }
}

export async function removeRun(r: CaseRun): Promise<void> {
  await rm(r.dir, { recursive: true, force: true });
}
