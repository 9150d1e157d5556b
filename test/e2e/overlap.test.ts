import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore, toParquetBytes } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers } from '../support/data.js';

/** Lists every file below dir, relative to it. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('an output that overlaps the input is refused before anything runs', () => {
  it.each([
    ['the input folder itself', 'in/', 'in/'],
    ['a folder inside the input', 'in/', 'in/out/'],
    ['a folder holding every date of the input', 'lake/{date}/', 'lake/'],
  ])('%s: exit 65 naming both URIs, input untouched, nothing written', async (_what, input, output) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-overlap-'));
    const store = new LocalStore(dir);
    const inputDir = input.replace('{date}', '2024-06-01');
    await store.put(`${inputDir}a.parquet`, toParquetBytes(makeCustomers(2_000), undefined, 1_000));
    const before = await tree(dir);
    const job = path.join(dir, 'job.yaml');
    await writeFile(job, jobYaml({ input, model: CREDIT_MODEL, output }));
    const r = await runCli(['run', job, '--local', '--date', '2024-06-01']);
    expect(r.code).toBe(65);
    const resolvedIn = `file://${dir}/${input}`;
    expect(r.stderr.trim()).toBe(
      `batchscore: error [SPEC_INVALID]: ${job}: spec.output.uri: "file://${dir}/${output}" ` +
        `overlaps spec.input.uri "${resolvedIn}" (one is inside the other): output would ` +
        `be read back as input; choose an output folder outside the input`,
    );
    expect(await tree(dir)).toEqual([...before, 'job.yaml'].sort());
  });
});
