#!/usr/bin/env node
/**
 * `npm run test:cluster [-- --stack NAME] [vitest arguments]`: the real-engine suite (vitest.cluster.config.ts) on
 * one stack of scripts/cluster/build.sh. `--stack NAME` does what BATCHSCORE_STACK=NAME does (default: current);
 * everything else goes to vitest, e.g. a test file to run alone.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const env = { ...process.env };
const rest = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--stack' || a.startsWith('--stack=')) {
    const v = a === '--stack' ? args[++i] : a.slice('--stack='.length);
    if (!v) {
      process.stderr.write('test:cluster: --stack needs a name (current, lts)\n');
      process.exit(64);
    }
    env.BATCHSCORE_STACK = v;
  } else rest.push(a);
}
const vitest = join(REPO, 'node_modules/vitest/vitest.mjs');
const r = spawnSync(process.execPath, [vitest, 'run', '-c', join(REPO, 'vitest.cluster.config.ts'), ...rest], {
  cwd: REPO,
  env,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
