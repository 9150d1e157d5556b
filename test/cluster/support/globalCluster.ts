import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterBin: string;
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
 * Builds the pinned control plane (a no-op when cached) and starts one cluster for the run in its own state folder;
 * BATCHSCORE_CLUSTER_KUBECONFIG (with BATCHSCORE_CLUSTER_BIN) reuses a cluster already up instead.
 */
export default function setup(project: TestProject): () => void {
  const bin = process.env.BATCHSCORE_CLUSTER_BIN ?? run('bash', ['scripts/cluster/build.sh']).split('\n').pop()!;
  project.provide('clusterBin', bin);
  const reuse = process.env.BATCHSCORE_CLUSTER_KUBECONFIG;
  if (reuse) {
    project.provide('kubeconfig', reuse);
    return () => {};
  }
  const state = path.join(
    process.env.XDG_STATE_HOME ?? path.join(homedir(), '.local/state'),
    'batchscore',
    'cluster-test',
  );
  mkdirSync(state, { recursive: true });
  const last = run('node', ['scripts/cluster/cluster.mjs', 'up', '--dir', state, '--bin', bin]).split('\n').pop()!;
  const m = /^export KUBECONFIG=(.+)$/.exec(last);
  if (!m) throw new Error(`cluster up printed no KUBECONFIG line: ${last}`);
  project.provide('kubeconfig', m[1]!);
  return () => {
    run('node', ['scripts/cluster/cluster.mjs', 'down', '--dir', state]);
  };
}
