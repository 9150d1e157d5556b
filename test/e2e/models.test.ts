import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sha256Hex } from '@batchscore/core';
import { expect, it } from 'vitest';
import { REPO } from '../support/cli.js';

const ECHO_DTYPES = ['float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32'];
ECHO_DTYPES.push('uint64', 'bool', 'string');

it('the committed ONNX models are exactly what scripts/make-models.mjs generates', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-models-'));
  await promisify(execFile)(process.execPath, [path.join(REPO, 'scripts/make-models.mjs'), dir]);
  for (const rel of [
    'models/credit.onnx',
    'test/fixtures/models/two_inputs_f64.onnx',
    'test/fixtures/models/not_a_model.onnx',
    'test/fixtures/models/credit_batch1.onnx',
    'test/fixtures/models/credit_batch8.onnx',
    ...ECHO_DTYPES.map((d) => `test/fixtures/models/echo_${d}.onnx`),
    'test/fixtures/models/echo_all.onnx',
    'test/fixtures/models/out_batch1.onnx',
    'test/fixtures/models/out_rank3.onnx',
  ]) {
    expect(sha256Hex(await readFile(path.join(dir, rel))), rel).toBe(sha256Hex(await readFile(path.join(REPO, rel))));
  }
});
