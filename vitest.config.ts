import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources; the CLI child processes they spawn run the built dist/.
    alias: {
      '@batchscore/core': src('core'),
      '@batchscore/coordinator': src('coordinator'),
      '@batchscore/worker': src('worker'),
      '@batchscore/merge': src('merge'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
