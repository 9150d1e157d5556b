import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sha256Hex } from '@batchscore/core';
import { expect, it } from 'vitest';
import { REPO } from '../support/cli.js';

it('the committed ONNX models are exactly what scripts/make-models.mjs generates', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-models-'));
  await promisify(execFile)(process.execPath, [path.join(REPO, 'scripts/make-models.mjs'), dir]);
  for (const rel of [
    'models/credit.onnx',
    'test/fixtures/models/two_inputs_f64.onnx',
    'test/fixtures/models/not_a_model.onnx',
    'test/fixtures/models/credit_batch1.onnx',
    'test/fixtures/models/credit_batch8.onnx',
  ]) {
    expect(sha256Hex(await readFile(path.join(dir, rel))), rel).toBe(sha256Hex(await readFile(path.join(REPO, rel))));
  }
});
