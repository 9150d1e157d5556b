import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:cluster`: the rendered Workflows on a real kube-apiserver, scheduler, controller manager and Argo
 * controller (scripts/cluster/), one cluster for the whole run, test files one after another.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/cluster/**/*.test.ts'],
      exclude: [],
      globalSetup: [fileURLToPath(new URL('./test/cluster/support/globalCluster.ts', import.meta.url))],
      fileParallelism: false,
      testTimeout: 600_000,
      hookTimeout: 600_000,
    },
  }),
);
