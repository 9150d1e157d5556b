import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore, manifestKey, toParquetBytes } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers } from '../support/data.js';
import { readManifest } from '../support/output.js';

const DATE = '2024-07-01';

/**
 * A header-only CSV and a zero-row Parquet file are the same fact, "no rows": they fail alike, or both publish 0 rows.
 */
async function setup(format: 'csv' | 'parquet', allowEmpty: boolean) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-empty-'));
  const store = new LocalStore(dir);
  if (format === 'csv') await store.put('in/a.csv', 'customer_id,age,income,credit,loan\n');
  else await store.put('in/a.parquet', toParquetBytes(makeCustomers(0)));
  const job = path.join(dir, 'job.yaml');
  const yaml = jobYaml({ input: 'in/', format, model: CREDIT_MODEL, output: 'out/' });
  await writeFile(job, allowEmpty ? yaml.replace(`format: ${format}}`, `format: ${format}, allowEmpty: true}`) : yaml);
  return { dir, job, out: new LocalStore(path.join(dir, 'out')) };
}

describe('an input with no rows', () => {
  it.each(['csv', 'parquet'] as const)(
    '%s: fails with exit 65 naming the input and the setting, and publishes nothing',
    async (format) => {
      const { dir, job, out } = await setup(format, false);
      const r = await runCli(['run', job, '--local', '--date', DATE]);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('batchscore: error'))).toEqual([
        `batchscore: error [INPUT_INVALID]: file://${dir}/in/: the input has no rows (1 file); ` +
          `set spec.input.allowEmpty: true if an empty input is a complete run`,
      ]);
      expect(await out.head(manifestKey({ batchDate: DATE, modelVersion: 'v3' }))).toBeUndefined();
    },
  );

  it.each(['csv', 'parquet'] as const)('%s with spec.input.allowEmpty: a complete run of 0 rows', async (format) => {
    const { job, out } = await setup(format, true);
    const r = await runCli(['run', job, '--local', '--date', DATE]);
    expect(r.code, r.stderr).toBe(0);
    const m = await readManifest(out, DATE);
    expect(m).toMatchObject({
      status: 'complete',
      record_count: 0,
      input_record_count: 0,
      quarantined_record_count: 0,
      shard_count: 1,
      files: [],
    });
  });
});
