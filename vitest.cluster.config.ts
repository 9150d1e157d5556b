import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:cluster`: the rendered Workflows on a real kube-apiserver, scheduler, controller manager and Argo
 * controller (scripts/cluster/), one cluster for the whole run, test files one after another. Only the resolve
 * aliases come from the unit suite's config (merging would keep its exclusion of test/cluster).
 */
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: [fileURLToPath(new URL('./test/cluster/support/globalCluster.ts', import.meta.url))],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
  },
});
