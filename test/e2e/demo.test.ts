import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('batchscore demo', () => {
  it(
    'makes its data, scores it, quarantines its planted typos, and prints tiers, summary ' + 'and the inspect line',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-demo-'));
      const r = await runCli(['demo', '--rows', '50000', '--dir', dir, '--workers', '1']);
      expect(r.code, r.stderr).toBe(0);
      // Rows 0, 20,000 and 40,000 have age 460: quarantined, not scored.
      expect(r.stdout).toContain('Risk tiers (49,997 customers)');
      expect(r.stdout).toContain('  rows        49,997 scored of 50,000 read, in 1 shard (cpu)');
      expect(r.stdout).toContain('  quarantine  3 invalid rows (0.00600%, limit 0.1%): age: above_max 3');
      expect(r.stdout).toMatch(/More: npx batchscore inspect .*out --date \d{4}-\d{2}-\d{2}/);

      // -o json: a second run (the demo makes its data anew and rescores it) as one record.
      const j = await runCli(['demo', '--rows', '50000', '--dir', dir, '--workers', '1', '-o', 'json']);
      expect(j.code, j.stderr).toBe(0);
      const record = JSON.parse(j.stdout);
      expect(record).toMatchObject({ status: 'complete', rowsIn: 50_000, rowsOut: 49_997, rowsQuarantined: 3 });
      expect(Object.keys(record.tiers)).toEqual(['LOW', 'MEDIUM', 'HIGH']);
      expect(record.tiers.LOW + record.tiers.MEDIUM + record.tiers.HIGH).toBe(49_997);
      expect(record.meanDefaultProbability).toBeGreaterThan(0);
      expect(record.meanDefaultProbability).toBeLessThan(1);
    },
  );
});
