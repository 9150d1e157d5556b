// Who a container runs as, decided as the kubelet and runc decide it.
import type { Container, Pod } from './types.js';
import type { PasswdEntry } from './rootfs.js';

export interface ContainerUser {
  uid: number;
  gid: number;
  /** HOME where the container's env sets none: the user's home in the image's /etc/passwd, else `/`. */
  home: string;
}

/** A container's user cannot be used; the kubelet reports it as CreateContainerConfigError. */
export class UserError extends Error {}

/**
 * Pure: the container's user: securityContext.runAsUser/runAsGroup (the container's, else the pod's), else the
 * image's USER (`uid`, `uid:gid`, `name`, `name:gid`; a name is looked up in the image's /etc/passwd), else root.
 * A group not given is the user's group in /etc/passwd, else 0. runAsNonRoot refuses uid 0, and an image user
 * given by name when no runAsUser says the uid (the kubelet cannot verify a name is not root).
 */
export function containerUser(pod: Pod, c: Container, imageUser: string, users: PasswdEntry[]): ContainerUser {
  const sc = c.securityContext;
  const psc = pod.spec.securityContext;
  const runAsUser = sc?.runAsUser ?? psc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? psc?.runAsGroup;
  const nonRoot = sc?.runAsNonRoot ?? psc?.runAsNonRoot ?? false;
  const [userPart = '', groupPart] = imageUser.split(':');
  let uid: number;
  let entry: PasswdEntry | undefined;
  if (runAsUser !== undefined) {
    uid = runAsUser;
    entry = users.find((u) => u.uid === uid);
  } else if (userPart === '') {
    uid = 0;
    entry = users.find((u) => u.uid === 0);
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    entry = users.find((u) => u.uid === uid);
  } else {
    if (nonRoot) {
      throw new UserError(
        `container has runAsNonRoot and image has non-numeric user (${userPart}), cannot verify user is non-root`,
      );
    }
    entry = users.find((u) => u.name === userPart);
    if (!entry) throw new UserError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.uid;
  }
  if (nonRoot && uid === 0) {
    throw new UserError(`container has runAsNonRoot and image will run as root (container: ${c.name})`);
  }
  let gid: number;
  if (runAsGroup !== undefined) gid = runAsGroup;
  else if (runAsUser === undefined && groupPart !== undefined && /^\d+$/.test(groupPart)) gid = Number(groupPart);
  else gid = entry?.gid ?? 0;
  return { uid, gid, home: entry?.home || '/' };
}
