import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';

/**
 * Kubeconfig files whose names overlap, for the KUBECONFIG-list tests (the unit test and the one against the real
 * kubectl): a and b both define the cluster `shared`, the user `admin` and the context `shared-ctx`, each with a
 * current-context of its own; b (in a folder of its own) names its CA by a relative path; noContext sets no
 * current-context; empty is an empty file.
 */
export function kubeconfigFiles(dir: string): { a: string; b: string; noContext: string; empty: string } {
  const write = (file: string, doc: object | string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, typeof doc === 'string' ? doc : stringify(doc));
    return file;
  };
  const cluster = (name: string, server: string, extra: object = {}) => ({ name, cluster: { server, ...extra } });
  const user = (name: string, token: string) => ({ name, user: { token } });
  const context = (name: string, c: string, u: string, namespace: string) => ({
    name,
    context: { cluster: c, user: u, namespace },
  });
  const config = (o: object) => ({ apiVersion: 'v1', kind: 'Config', preferences: {}, ...o });
  return {
    a: write(
      path.join(dir, 'a.yaml'),
      config({
        clusters: [cluster('shared', 'https://a.example:6443'), cluster('only-a', 'https://only-a.example:6443')],
        users: [user('admin', 'token-a')],
        contexts: [context('ctx-a', 'shared', 'admin', 'ns-a'), context('shared-ctx', 'only-a', 'admin', 'from-a')],
        'current-context': 'ctx-a',
      }),
    ),
    b: write(
      path.join(dir, 'b', 'b.yaml'),
      config({
        clusters: [
          cluster('shared', 'https://b.example:6443'),
          cluster('only-b', 'https://only-b.example:6443', { 'certificate-authority': 'ca.crt' }),
        ],
        users: [user('admin', 'token-b-admin'), user('user-b', 'token-b')],
        contexts: [context('shared-ctx', 'only-b', 'user-b', 'from-b'), context('ctx-b', 'only-b', 'user-b', 'ns-b')],
        'current-context': 'ctx-b',
      }),
    ),
    noContext: write(
      path.join(dir, 'no-context.yaml'),
      config({
        clusters: [cluster('nc', 'https://nc.example:6443')],
        users: [user('nc-user', 'token-nc')],
        contexts: [context('nc-ctx', 'nc', 'nc-user', 'nc')],
      }),
    ),
    empty: write(path.join(dir, 'empty.yaml'), ''),
  };
}
