import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readManifest } from '../support/output.js';

const DATE = '2024-08-01';

describe('manifest v1 timing stays true for a resumed run', () => {
  it(
    'three shards scored by an earlier attempt, one by the rerun: resumed, wall time ' +
      'of the last attempt, speed per second of scoring',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-manifest-'));
      await writeCustomers(new LocalStore(dir), 'in/', 80_000, 80_000, 20_000);
      const job = path.join(dir, 'job.yaml');
      await writeFile(job, jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: 20_000 }));
      expect((await runCli(['plan', job, '--date', DATE])).code).toBe(0);
      for (const shard of ['0', '1', '2'])
        expect((await runCli(['score', job, '--date', DATE, '--shard', shard])).code).toBe(0);
      // The rerun plans again (same plan id), skips the three committed shards and scores the fourth.
      const r = await runCli(['run', job, '--local', '--workers', '1', '--date', DATE]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('(resumed: earlier attempts scored some shards)');
      const m = await readManifest(new LocalStore(path.join(dir, 'out')), DATE);
      const starts = m.shards.map((s) => Date.parse(s.started_at));
      expect(m.resumed).toBe(true);
      expect(m.started_at).toBe(new Date(Math.min(...starts)).toISOString());
      expect(m.scoring_seconds).toBeCloseTo(
        m.shards.reduce((n, s) => n + s.duration_s, 0),
        2,
      );
      expect(m.throughput_rows_per_s).toBe(Math.round(80_000 / m.scoring_seconds));
      // The last attempt's wall time began after the first shards were scored: it is not the run's span.
      expect(Date.parse(m.finished_at) - m.duration_s * 1000).toBeGreaterThan(Math.max(...starts.slice(0, 3)));
    },
  );
});
