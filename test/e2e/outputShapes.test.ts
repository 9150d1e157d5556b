import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '@batchscore/core';
import { expect, it } from 'vitest';
import { FIXTURE_MODELS, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';

const DATE = '2024-06-01';

// onnxruntime returns the shape the graph computes, whatever the model declares: these fixtures declare y [N, 2].
it.each([
  ['out_batch1.onnx', '[1, 2]', '[2000, 2] (the model declares [1, 2])'],
  // onnxruntime's metadata drops a declared shape its own shape inference contradicts.
  ['out_rank3.onnx', '[2000, 2, 2]', "[2000, k] (the model's metadata gives no shape)"],
])(
  "%s: an output that does not match the run's rows is MODEL_INVALID (65) naming it and its shape",
  async (file, shape, expected) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-outshape-'));
    await writeCustomers(new LocalStore(dir), 'in/', 2_000, 2_000, 2_000);
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: 'in/',
        model: path.join(FIXTURE_MODELS, file),
        output: 'out/',
        inputs: '[{name: x, columns: [age, income]}]',
        outputs: '[{name: y, index: 1, column: s}]',
        extra: '  worker: {batchSize: 2000}\n',
      }),
    );
    const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(65);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('batchscore: error'));
    expect(errors).toEqual([
      `batchscore: error [MODEL_INVALID]: shard 0 of ${new LocalStore(path.join(dir, 'in')).rootUri}: ` +
        `model output "y" has shape ${shape} for a run of 2000 rows; expected ${expected}`,
    ]);
  },
);
