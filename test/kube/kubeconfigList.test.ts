// A KUBECONFIG list is merged as kubectl merges it (issue 23): missing and empty files skipped, the first definition
// of a cluster, user or context name wins, the first current-context wins, relative paths resolve per file.
// test/cluster/kubeconfig.test.ts checks the same lists against the real kubectl.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadKubeConfig, loadKubeconfigList } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';
import { kubeconfigFiles } from './kubeconfigFiles.js';

let dir: string;
let saved: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bs-kubeconfig-'));
  saved = process.env.KUBECONFIG;
});
afterEach(() => {
  if (saved === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = saved;
});

describe('loadKubeconfigList: KUBECONFIG as kubectl reads it', () => {
  it('skips missing and empty files, keeps the first definition of each name and the first current-context', () => {
    const f = kubeconfigFiles(dir);
    const list = [path.join(dir, 'missing.yaml'), f.empty, f.a, f.b].join(path.delimiter);
    const { kubeconfig, files } = loadKubeconfigList(list);
    expect(files).toEqual([f.a, f.b]);
    expect(kubeconfig.getCurrentContext()).toBe('ctx-a');
    expect(kubeconfig.clusters.map((c) => [c.name, c.server])).toEqual([
      ['shared', 'https://a.example:6443'],
      ['only-a', 'https://only-a.example:6443'],
      ['only-b', 'https://only-b.example:6443'],
    ]);
    expect(kubeconfig.users.map((u) => [u.name, u.token])).toEqual([
      ['admin', 'token-a'],
      ['user-b', 'token-b'],
    ]);
    expect(kubeconfig.contexts.map((c) => [c.name, c.cluster, c.namespace])).toEqual([
      ['ctx-a', 'shared', 'ns-a'],
      ['shared-ctx', 'only-a', 'from-a'],
      ['ctx-b', 'only-b', 'ns-b'],
    ]);
    // b's current-context is ignored, as kubectl ignores it; its relative CA resolves against b's folder.
    expect(kubeconfig.clusters.find((c) => c.name === 'only-b')!.caFile).toBe(path.join(path.dirname(f.b), 'ca.crt'));
  });

  it('a file listed twice counts once; a later file sets current-context only when no earlier one did', () => {
    const f = kubeconfigFiles(dir);
    const { kubeconfig, files } = loadKubeconfigList([f.noContext, f.b, f.noContext].join(path.delimiter));
    expect(files).toEqual([f.noContext, f.b]);
    expect(kubeconfig.getCurrentContext()).toBe('ctx-b');
  });

  it('loadKubeConfig uses it for KUBECONFIG, and refuses a list that names no file there', () => {
    const f = kubeconfigFiles(dir);
    process.env.KUBECONFIG = [path.join(dir, 'nope'), f.b, f.a].join(path.delimiter);
    const kc = loadKubeConfig();
    expect([kc.getCurrentContext(), kc.getCurrentCluster()?.server]).toEqual(['ctx-b', 'https://only-b.example:6443']);
    expect(loadKubeConfig({ context: 'ctx-a' }).getCurrentCluster()?.server).toBe('https://b.example:6443');
    process.env.KUBECONFIG = [path.join(dir, 'nope'), f.empty].join(path.delimiter);
    try {
      loadKubeConfig();
      expect.unreachable();
    } catch (err) {
      expect((err as BatchscoreError).code).toBe('USAGE');
      expect((err as Error).message).toBe(
        `KUBECONFIG=${process.env.KUBECONFIG}: none of its files exists (or each is empty); point it at a ` +
          'kubeconfig, or pass --kubeconfig',
      );
    }
  });

  it('a file that is not a kubeconfig fails, naming the list', () => {
    mkdirSync(path.join(dir, 'sub'));
    const bad = path.join(dir, 'sub', 'bad.yaml');
    writeFileSync(bad, 'clusters: [{name: x\n');
    process.env.KUBECONFIG = bad;
    expect(() => loadKubeConfig()).toThrow(new RegExp(`^cannot load kubeconfig ${bad}: `));
  });
});
