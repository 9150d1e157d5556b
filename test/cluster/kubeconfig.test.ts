import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeconfigList } from '@batchscore/coordinator/kube';
import { kubeconfigFiles } from '../kube/kubeconfigFiles.js';
import { ok, sh } from './support/kube.js';

/** A KUBECONFIG list as the stack's real kubectl merges it (`kubectl config view`), and as batchscore does. */
describe('KUBECONFIG lists: batchscore merges them as kubectl does', () => {
  it('missing and empty files, names two files define, and each file’s current-context', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bs-kubeconfig-'));
    const f = kubeconfigFiles(dir);
    // b names ca.crt: the one beside b.yaml, not the one in the folder kubectl runs in.
    writeFileSync(path.join(path.dirname(f.b), 'ca.crt'), 'the CA beside b.yaml\n');
    const lists = [
      [path.join(dir, 'missing.yaml'), f.empty, f.a, f.b],
      [f.b, f.a],
      [f.noContext, f.b, f.noContext],
      [f.noContext, f.a],
    ];
    for (const files of lists) {
      const list = files.join(path.delimiter);
      // --flatten: kubectl reads each certificate-authority file, as it resolves it, into certificate-authority-data.
      const view = JSON.parse(
        await ok(sh('kubectl', ['config', 'view', '--flatten', '-o', 'json'], { env: { KUBECONFIG: list } })),
      ) as {
        'current-context': string;
        clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
        users: { name: string; user: { token?: string } }[];
        contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
      };
      const { kubeconfig } = loadKubeconfigList(list);
      const byName = <T extends { name: string }>(xs: T[]) => [...xs].sort((x, y) => x.name.localeCompare(y.name));
      expect(kubeconfig.getCurrentContext(), list).toBe(view['current-context']);
      expect(
        byName(kubeconfig.clusters).map((c) => [c.name, c.server, c.caFile && readFileSync(c.caFile, 'utf8')]),
        list,
      ).toEqual(
        byName(view.clusters).map((c) => {
          const data = c.cluster['certificate-authority-data'];
          return [c.name, c.cluster.server, data && Buffer.from(data, 'base64').toString('utf8')];
        }),
      );
      expect(
        byName(kubeconfig.users).map((u) => [u.name, u.token]),
        list,
      ).toEqual(byName(view.users).map((u) => [u.name, u.user.token]));
      expect(
        byName(kubeconfig.contexts).map((c) => [c.name, c.cluster, c.user, c.namespace]),
        list,
      ).toEqual(byName(view.contexts).map((c) => [c.name, c.context.cluster, c.context.user, c.context.namespace]));
    }
  });
});
