// Reading an image's root file system from outside it, as a container runtime must: paths resolved within the
// root (an absolute link such as Debian's /var/run -> /run points into the image, never at this machine's /run),
// and the image's users.
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * `path` (absolute, as the container sees it) with every link that exists in `root` followed inside `root`:
 * what the container would reach. The missing rest of the path is kept as written. Pure but for reading `root`.
 */
export function resolveInRoot(root: string, path: string): string {
  let todo = posix.normalize(path).split('/').filter(Boolean);
  let done: string[] = [];
  for (let hops = 0; todo.length;) {
    const part = todo.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    if (part === '.') continue;
    const here = [...done, part];
    let link: string | undefined;
    try {
      if (lstatSync(join(root, ...here)).isSymbolicLink()) link = readlinkSync(join(root, ...here));
    } catch {
      /* missing: kept as written */
    }
    if (link === undefined) {
      done = here;
      continue;
    }
    if (++hops > 255) throw new Error(`${path}: too many levels of symbolic links in the image`);
    const target = link.split('/').filter(Boolean);
    todo = [...target, ...todo];
    if (link.startsWith('/')) done = [];
  }
  return '/' + done.join('/');
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Pure: /etc/passwd's entries. */
export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

/** The image's /etc/passwd entries ([] when it has none, as a scratch image). */
export function imageUsers(root: string): PasswdEntry[] {
  try {
    return parsePasswd(readFileSync(join(root, resolveInRoot(root, '/etc/passwd')), 'utf8'));
  } catch {
    return [];
  }
}
