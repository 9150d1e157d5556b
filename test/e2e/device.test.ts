// The device a score pod scores on (issue 15): a GPU job's score pods get `--default-device cuda` from the
// renderer, so a pod that cannot load CUDA fails (65) instead of scoring on CPU while its GPU is billed; and with
// --log-format json every line a pod prints is JSON, the CUDA fallback warning included.
// These run on a machine without CUDA (the CPU build of onnxruntime-node has no CUDA provider); where CUDA does
// load, the tests that need it not to are skipped.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '@batchscore/core';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';

const DATE = '2024-12-01';
const CUDA_FAILURE = 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library';

let dir: string;
let cudaLoads = false;

/**
 * A planned job whose plan leaves spec.worker.device unset, as the spec parser does for a job that does not set
 * it (the plan's job is what a score pod reads): checked here, since the tests below rely on it.
 */
async function plannedJob(name: string, extra = ''): Promise<string> {
  const job = path.join(dir, `${name}.yaml`);
  await writeFile(
    job,
    jobYaml({
      input: path.join(dir, 'in/'),
      model: CREDIT_MODEL,
      output: path.join(dir, name),
      rowsPerShard: 500,
      extra,
    }),
  );
  const r = await runCli(['plan', job, '--date', DATE]);
  expect(r.code, r.stderr).toBe(0);
  if (!extra.includes('device')) {
    const header = path.join(dir, name, '_batchscore', DATE, 'v3', 'plan.json');
    const plan = JSON.parse(await readFile(header, 'utf8'));
    expect(plan.job.spec.worker.device).toBeUndefined();
  }
  return job;
}

/** Every non-empty line of a stream, each parsed as JSON (a line that is not JSON fails the test, naming it). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${JSON.stringify(l)}\nin:\n${text}`);
      }
    });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bs-device-'));
  await writeCustomers(new LocalStore(dir), 'in/', 1_000, 1_000, 500);
  ort.env.logLevel = 'fatal';
  cudaLoads = await ort.InferenceSession.create(CREDIT_MODEL, {
    executionProviders: ['cuda'],
    logSeverityLevel: 4,
  }).then(
    async (s) => (await s.release(), true),
    () => false,
  );
});

describe('score --default-device', () => {
  it(
    'cuda, with spec.worker.device unset and no CUDA: a score pod exits 65 with one line ' + 'naming the reason',
    async (ctx) => {
      if (cudaLoads) ctx.skip();
      const job = await plannedJob('unset');
      // As the rendered score pods call it: a stride of shards.
      const r = await runCli(['score', job, '--date', DATE, '--pod', '0', '--pods', '1', '--default-device', 'cuda']);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([
        `batchscore: error [MODEL_INVALID]: file://${CREDIT_MODEL}: spec.worker.device is ` +
          `unset and this pod runs with --default-device cuda (a GPU job: spec.cluster.gpusPerWorker ` +
          `> 0; set spec.worker.device: auto to allow scoring on CPU), but the CUDA execution ` +
          `provider cannot load: ${CUDA_FAILURE}`,
      ]);
    },
  );

  it('cuda, with spec.worker.device: cpu set in the job: scores on the CPU', async () => {
    const job = await plannedJob('cpu', '  worker: {device: cpu}\n');
    const r = await runCli(['score', job, '--date', DATE, '--shard', '0', '--default-device', 'cuda']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ shard: 0, rowsIn: 500, rowsOut: 500, files: 1, executionProvider: 'cpu' });
    expect(r.stderr).not.toMatch(/CUDA/);
  });

  it('auto, with spec.worker.device unset: falls back to the CPU with one warning, as before', async (ctx) => {
    if (cudaLoads) ctx.skip();
    const job = await plannedJob('auto');
    const r = await runCli(['score', job, '--date', DATE, '--shard', '1', '--default-device', 'auto']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ shard: 1, rowsIn: 500, executionProvider: 'cpu' });
    expect(r.stderr.split('\n').filter((l) => l.includes('CUDA'))).toEqual([
      `batchscore: warning: CUDA is not available (${CUDA_FAILURE}); scoring on CPU`,
    ]);
  });

  it('refuses a value it does not know: exit 64 naming the flag, the value and the allowed values', async () => {
    const r = await runCli(['score', 'job.yaml', '--date', DATE, '--shard', '0', '--default-device', 'gpu']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      'batchscore: error [USAGE]: --default-device "gpu": expected one of auto, cuda, cpu; ' +
        "see 'batchscore score --help'\n",
    );
  });
});

describe('--log-format json: every line a score pod prints is JSON', () => {
  it('the CUDA fallback warning is a JSON log line (stdout and stderr)', async (ctx) => {
    if (cudaLoads) ctx.skip();
    const job = await plannedJob('json');
    // No --default-device: a CPU-only job's score pod, on auto.
    const r = await runCli(['score', job, '--date', DATE, '--pod', '0', '--pods', '1', '--log-format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLines(r.stdout).map((l) => l.shard)).toEqual([0, 1]);
    const err = jsonLines(r.stderr);
    expect(err.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      `CUDA is not available (${CUDA_FAILURE}); scoring on CPU`,
    ]);
    // The merge pod after it: its summary is one JSON line on stdout.
    const m = await runCli(['merge', job, '--date', DATE, '--log-format', 'json']);
    expect(m.code, m.stderr).toBe(0);
    jsonLines(m.stderr);
    const [summary, ...more] = jsonLines(m.stdout);
    expect(more).toEqual([]);
    expect(summary).toMatchObject({
      status: 'complete',
      rowsIn: 1_000,
      rowsOut: 1_000,
      rowsQuarantined: 0,
      shards: 2,
      executionProvider: 'cpu',
      files: 2,
    });
    expect(summary!.manifest).toBe(
      `file://${path.join(dir, 'json')}/batch_date=${DATE}/model_version=v3/_batch_manifest.json`,
    );
  });

  it("a failure to load CUDA is one JSON line, with nothing of onnxruntime's own log", async (ctx) => {
    if (cudaLoads) ctx.skip();
    const job = await plannedJob('json-cuda');
    const r = await runCli([
      'score',
      job,
      '--date',
      DATE,
      '--shard',
      '0',
      '--default-device',
      'cuda',
      '--log-format',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(65);
    expect(r.stdout).toBe('');
    expect(jsonLines(r.stderr).map((l) => [l.level, l.code, l.exitCode])).toEqual([['error', 'MODEL_INVALID', 65]]);
  });

  it("Node's own warnings (ExperimentalWarning, DeprecationWarning, …) are JSON log lines too", async () => {
    const job = await plannedJob('json-warning', '  worker: {device: cpu}\n');
    // A warning emitted once the command has run, as a library's first use of an experimental API would be.
    const warn = 'process.emitWarning("something is experimental", "ExperimentalWarning")';
    const emit = `data:text/javascript,${encodeURIComponent(`process.once("beforeExit", () => ${warn})`)}`;
    const r = await runCli(['score', job, '--date', DATE, '--shard', '0', '--log-format', 'json'], {
      env: { NODE_OPTIONS: `--import=${emit}` },
    });
    expect(r.code, r.stderr).toBe(0);
    jsonLines(r.stdout);
    const warnings = jsonLines(r.stderr).filter((l) => l.level === 'warn');
    expect(warnings.map((l) => [l.msg, l.warning])).toEqual([['something is experimental', 'ExperimentalWarning']]);
  });
});
