import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml } from '../support/data.js';

describe('a plan past the shard limit', () => {
  it(
    'is refused by plan with exit 65 naming the limit and the setting; nothing is written ' +
      '(it used to plan, then score --shard 100000 exited 70)',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-shards-'));
      const store = new LocalStore(dir);
      // 1-byte CSV ranges over a 120,020-byte file: 120,020 shards (shard numbers have 5 digits: at most 100,000).
      let csv = 'customer_id,age,income,credit,loan\n';
      for (let i = 0; csv.length < 120_000; i++) csv += `${i},30,50000,600,1000\n`;
      await store.put('in/a.csv', csv);
      const job = path.join(dir, 'job.yaml');
      await writeFile(
        job,
        jobYaml({ input: 'in/', format: 'csv', model: CREDIT_MODEL, output: 'out/', bytesPerShard: 1 }),
      );
      const r = await runCli(['plan', job, '--date', '2024-01-01']);
      expect(r.code).toBe(65);
      expect(r.stderr.trim()).toBe(
        `batchscore: error [SPEC_INVALID]: file://${dir}/in/: the input cuts into ${csv.length} ` +
          `shards, more than the 100000 a run can have (shard numbers have 5 digits); raise ` +
          `spec.sharding.bytesPerShard (now 1) to at least 2`,
      );
      expect(await new LocalStore(path.join(dir, 'out')).list('')).toEqual([]);
    },
  );
});
