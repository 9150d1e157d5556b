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
  },
});
