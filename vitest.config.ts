import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) =>
  fileURLToPath(new URL(`./packages/${p}/src/${p.includes('/') ? '' : 'index.ts'}`, import.meta.url));
const file = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources; the CLI child processes they spawn run the built dist/.
    alias: [
      { find: /^@batchscore\/core$/, replacement: src('core') },
      { find: /^@batchscore\/core\/s3$/, replacement: file('core/src/store/S3Store.ts') },
      { find: /^@batchscore\/coordinator$/, replacement: src('coordinator') },
      { find: /^@batchscore\/coordinator\/kube$/, replacement: file('coordinator/src/kube/index.ts') },
      { find: /^@batchscore\/worker$/, replacement: src('worker') },
      { find: /^@batchscore\/merge$/, replacement: src('merge') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // The real-engine suite needs a cluster: `npm run test:cluster` (vitest.cluster.config.ts).
    exclude: ['test/cluster/**', '**/node_modules/**'],
    globalSetup: ['test/globalManifestCheck.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // vitest's default in a run is one worker fewer than the cores: a single worker on a 2-core machine, which then
    // sits idle while its test waits on the S3 server, a CLI child process or a fault proxy's delay (most of them
    // do). One worker more than the cores keeps both cores busy (at most 8: each holds its own S3 server and CLI
    // children). BATCHSCORE_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.BATCHSCORE_TEST_WORKERS) || Math.min(availableParallelism() + 1, 8),
  },
});
