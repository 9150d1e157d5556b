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
    },
  );
});
