import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMAGES } from '@batchscore/core';
import type { ProvidedContext } from 'vitest';
import type { TestProject } from 'vitest/node';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterBin: string;
    /**
     * What the pods run: `image` (the worker image built by `npm run image:build`, its Node as `node`), or
     * `checkout` (BATCHSCORE_PODS_FROM=checkout, a development switch: this checkout on this machine's Node).
     */
    pods: { from: 'image'; image: string; id: string; node: string } | { from: 'checkout'; node: string };
    /** The stack the suite runs on (BATCHSCORE_STACK, default current; see scripts/cluster/build.sh). */
    stack: string;
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, {
    cwd: REPO,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}`);
  return r.stdout.trim();
}

/**
 * The worker image the pods run, built (a no-op when nothing changed; see `npm run image:build`) and said so; or,
 * with BATCHSCORE_PODS_FROM=checkout, this checkout, said so too.
 */
function podSource(): ProvidedContext['pods'] {
  if (process.env.BATCHSCORE_PODS_FROM === 'checkout') {
    console.log(
      "test:cluster: pods run from this checkout on this machine's Node " +
        `(${process.version}; BATCHSCORE_PODS_FROM=checkout), not from the worker image`,
    );
    return { from: 'checkout', node: process.version };
  }
  const built = JSON.parse(
    run(process.execPath, ['--import', './scripts/tsLoader.mjs', 'scripts/image/cli.ts', '--target', 'cpu', '--quiet']),
  ) as { tag: string; id: string };
  const config = JSON.parse(run('buildah', ['--storage-driver', 'vfs', 'inspect', '--type', 'image', built.tag]));
  const nodeVersion = (config.OCIv1.config.Env as string[]).find((e) => e.startsWith('NODE_VERSION='))!.slice(13);
  console.log(
    `test:cluster: pods run from their images: ${built.tag} (${built.id.slice(0, 12)}, Node v${nodeVersion}); ` +
      `GPU pods, whose image (${DEFAULT_IMAGES.gpu}) cannot be built here, run from it too, without CUDA`,
  );
  return { from: 'image', image: built.tag, id: built.id, node: `v${nodeVersion}` };
}

/**
 * Builds the stack's pinned control plane (a no-op when cached) and the worker image, and starts one cluster for the
 * run in its own state folder; BATCHSCORE_CLUSTER_KUBECONFIG (with BATCHSCORE_CLUSTER_BIN) reuses a cluster already
 * up instead (its pods then run from what it was started with: BATCHSCORE_PODS_FROM must say the same).
 */
export default function setup(project: TestProject): () => void {
  const stack = process.env.BATCHSCORE_STACK || 'current';
  const bin =
    process.env.BATCHSCORE_CLUSTER_BIN ??
    run('bash', ['scripts/cluster/build.sh', '--stack', stack]).split('\n').pop()!;
  project.provide('clusterBin', bin);
  project.provide('stack', stack);
  const pods = podSource();
  project.provide('pods', pods);
  const reuse = process.env.BATCHSCORE_CLUSTER_KUBECONFIG;
  if (reuse) {
    project.provide('kubeconfig', reuse);
    return () => {};
  }
  // BATCHSCORE_CLUSTER_STATE: a state folder of one's own (two checkouts on one machine take turns, not folders).
  const state =
    process.env.BATCHSCORE_CLUSTER_STATE ??
    path.join(process.env.XDG_STATE_HOME ?? path.join(homedir(), '.local/state'), 'batchscore', 'cluster-test');
  mkdirSync(state, { recursive: true });
  const last = run('node', [
    'scripts/cluster/cluster.mjs',
    'up',
    '--stack',
    stack,
    '--dir',
    state,
    '--bin',
    bin,
    '--pods-from',
    pods.from,
  ])
    .split('\n')
    .pop()!;
  const m = /^export KUBECONFIG=(.+)$/.exec(last);
  if (!m) throw new Error(`cluster up printed no KUBECONFIG line: ${last}`);
  project.provide('kubeconfig', m[1]!);
  return () => {
    run('node', ['scripts/cluster/cluster.mjs', 'down', '--dir', state]);
  };
}
