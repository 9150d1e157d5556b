import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { REPO } from './cli.js';

const build = (args: string[]) =>
  execFileSync('bash', [path.join(REPO, 'scripts/cluster/build.sh'), ...args], { encoding: 'utf8' }).trim();

/** The stacks scripts/cluster/build.sh builds, with the versions of each (kubernetes, etcd, argo-workflows, helm). */
export function clusterStacks(): { stack: string; versions: Record<string, string>; tag: string }[] {
  return build(['--list-stacks'])
    .split('\n')
    .map((stack) => ({
      stack,
      versions: Object.fromEntries(
        build(['--stack', stack, '--print-versions'])
          .split('\n')
          .map((l) => l.split('=') as [string, string]),
      ),
      tag: build(['--stack', stack, '--print-tag']),
    }));
}

/**
 * The helm binaries at hand: each stack's, where `npm run cluster:build` built it, and BATCHSCORE_HELM (a path)
 * when set. The chart is checked with every one of them (Helm 3 and 4 when both stacks are built).
 */
export function helmBinaries(): { name: string; helm: string }[] {
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'batchscore', 'cluster');
  const found = clusterStacks()
    .map(({ stack, versions, tag }) => ({
      name: `helm ${versions.helm} (${stack})`,
      helm: path.join(cache, tag, 'bin', 'helm'),
    }))
    .filter((h) => existsSync(h.helm));
  const extra = process.env.BATCHSCORE_HELM;
  return extra ? [...found, { name: `BATCHSCORE_HELM=${extra}`, helm: extra }] : found;
}
