import { existsSync, readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';

/**
 * A KUBECONFIG list (`a.yaml:b.yaml`, ';' on Windows) merged as kubectl merges it (client-go's
 * ClientConfigLoadingRules): the files in order, each once; a file that does not exist, or is empty, is skipped; the
 * first file that defines a cluster, user or context of a name wins, and so does the first that sets current-context.
 * Relative certificate and key paths are taken relative to the file that names them. (@kubernetes/client-node's own
 * loadFromDefault throws on a missing file and on a name two files define, and lets the last current-context win.)
 * `files`: the paths that were read, in order, for messages; none read leaves `kubeconfig` empty.
 */
export function loadKubeconfigList(list: string): { kubeconfig: KubeConfig; files: string[] } {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  const files: string[] = [];
  for (const file of new Set(list.split(delimiter).filter((f) => f !== ''))) {
    if (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') continue;
    const one = new KubeConfig();
    one.loadFromFile(file); // throws on a file that is not a kubeconfig, as kubectl fails on one
    files.push(file);
    for (const c of one.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.users) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (currentContext === '' && one.currentContext) currentContext = one.currentContext;
  }
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
  return { kubeconfig, files };
}
