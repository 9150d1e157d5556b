// Dockerfile.worker's cpu target, built without Docker (runStages: its steps in a scratch folder, with this
// checkout's node_modules for `npm ci` and the user creation skipped), then used as a pod would: `batchscore
// --help`, and a tiny plan + score with the CLI and model the image holds.
// Too slow and heavy for the default suite (25-45 s on 2 otherwise idle cores, 75 s with them shared, and about
// 1 GB of scratch disk: `tsc -b` of the whole project, 18-35 s, copies of node_modules, 670 MB and then the
// pruned 300 MB, and `npm prune`, all inside the scratch folder), so it runs only with BATCHSCORE_DOCKER_STAGES=1:
//   BATCHSCORE_DOCKER_STAGES=1 npx vitest run test/docker/cpuStage.test.ts
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStore } from '@batchscore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobYaml, writeCustomers } from '../support/data.js';
import { removeScratch, runStages, type StagesResult } from './runStages.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DATE = '2024-12-01';

let scratch: string;
let image: StagesResult;

/** The image's entrypoint with `args`, in its environment (PATH finds its /usr/local/bin/batchscore first). */
function inImage(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(image.entrypoint[0]!, args, { cwd, env: image.env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.runIf(process.env.BATCHSCORE_DOCKER_STAGES === '1')(
  'Dockerfile.worker --target cpu, its steps run in a scratch folder',
  () => {
    beforeAll(async () => {
      scratch = await mkdtemp(path.join(tmpdir(), 'bs-cpu-stage-'));
      image = await runStages({
        dockerfile: path.join(REPO, 'Dockerfile.worker'),
        target: 'cpu',
        context: REPO,
        scratch,
      });
      // Where the time went, for whoever makes this faster.
      console.log(image.timings.join('\n'));
    }, 300_000);
    afterAll(async () => {
      if (scratch) await removeScratch(scratch);
    });

    it('builds from deps and build, with only what the stand-ins could not do skipped', () => {
      expect(image.root).toBe(path.join(scratch, 'cpu'));
      expect(image.entrypoint).toEqual(['batchscore']);
      const standIns = image.steps.filter((s) => /skipped|instead/.test(s)).map((s) => s.replace(/^line \d+: /, ''));
      expect(standIns).toEqual([
        "RUN npm ci --ignore-scripts --no-audit --no-fund: this checkout's node_modules copied in instead",
        expect.stringMatching(
          /^RUN groupadd --gid 10001 batchscore && useradd --uid 10001 .*: skipped \(changes this machine's users\)$/,
        ),
      ]);
    });

    it('holds production dependencies only, onnxruntime for linux/x64 only and no CUDA provider', () => {
      const nm = path.join(image.root, 'opt/batchscore/node_modules');
      for (const dev of ['typescript', 'vitest', 'ajv', '@duckdb/node-api', 'nodejs-polars'])
        expect(existsSync(path.join(nm, dev)), dev).toBe(false);
      for (const prod of ['onnxruntime-node', 'pino', 'apache-arrow'])
        expect(existsSync(path.join(nm, prod)), prod).toBe(true);
      const ort = path.join(nm, 'onnxruntime-node/bin/napi-v6');
      expect(readdirSync(ort)).toEqual(['linux']);
      expect(readdirSync(path.join(ort, 'linux'))).toEqual(['x64']);
      expect(readdirSync(path.join(ort, 'linux/x64')).sort()).toEqual([
        'libonnxruntime.so.1',
        'onnxruntime_binding.node',
      ]);
      expect(lstatSync(path.join(image.root, 'usr/local/bin/batchscore')).isSymbolicLink()).toBe(true);
    });

    it('batchscore --help runs from PATH', async () => {
      const r = await inImage(['--help'], image.root);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe('batchscore: score large datasets with ONNX models as batch jobs');
    });

    it(
      'plans, scores and merges a tiny job on the CPU with its own model; a job that needs ' + 'CUDA exits 65',
      async () => {
        const dir = path.join(scratch, 'job');
        await writeCustomers(new LocalStore(dir), 'in/', 300, 300, 100);
        const model = path.join(image.root, 'opt/batchscore/models/credit.onnx');
        await writeFile(
          path.join(dir, 'job.yaml'),
          jobYaml({ input: path.join(dir, 'in/'), model, output: path.join(dir, 'out/') }),
        );
        const plan = await inImage(['plan', 'job.yaml', '--date', DATE, '--log-format', 'json'], dir);
        expect(plan.code, plan.stderr).toBe(0);
        const score = await inImage(
          ['score', 'job.yaml', '--date', DATE, '--pod', '0', '--pods', '1', '--log-format', 'json'],
          dir,
        );
        expect(score.code, score.stderr).toBe(0);
        expect(JSON.parse(score.stdout)).toEqual({
          shard: 0,
          rowsIn: 300,
          rowsOut: 300,
          files: 1,
          executionProvider: 'cpu',
        });
        const merge = await inImage(['merge', 'job.yaml', '--date', DATE, '--log-format', 'json'], dir);
        expect(merge.code, merge.stderr).toBe(0);
        expect(JSON.parse(merge.stdout)).toMatchObject({ status: 'complete', rowsOut: 300, executionProvider: 'cpu' });
        // A job that needs CUDA, on this image that has no CUDA provider: refused, not scored on the CPU.
        await writeFile(
          path.join(dir, 'cuda.yaml'),
          jobYaml({
            input: path.join(dir, 'in/'),
            model,
            output: path.join(dir, 'out-cuda/'),
            extra: '  worker: {device: cuda}\n',
          }),
        );
        expect((await inImage(['plan', 'cuda.yaml', '--date', DATE], dir)).code).toBe(0);
        const cuda = await inImage(['score', 'cuda.yaml', '--date', DATE, '--pod', '0', '--pods', '1'], dir);
        expect(cuda.code, cuda.stderr).toBe(65);
        expect(cuda.stderr).toMatch(
          new RegExp(
            String.raw`^batchscore: error \[MODEL_INVALID\]: \S+credit\.onnx: spec\.worker\.device` +
              String.raw` is cuda, but the CUDA execution provider cannot load: `,
          ),
        );
      },
    );
  },
);
