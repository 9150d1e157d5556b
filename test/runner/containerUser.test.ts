// Who a container runs as (scripts/cluster/runner/containerUser.ts), and reading an image's root from outside it
// (rootfs.ts): the pod runner's parts that decide identity and paths as the kubelet and runc do.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerUser, UserError } from '../../scripts/cluster/runner/containerUser.js';
import { imageUsers, parsePasswd, resolveInRoot } from '../../scripts/cluster/runner/rootfs.js';
import type { Container, Pod } from '../../scripts/cluster/runner/types.js';

const users = parsePasswd(
  'root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/bash\n' +
    'batchscore:x:10001:10001::/home/batchscore:/usr/sbin/nologin\nbroken line\n',
);
const pod = (sc?: Pod['spec']['securityContext']): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: { containers: [], ...(sc ? { securityContext: sc } : {}) },
});
const ctr = (sc?: Container['securityContext']): Container => ({
  name: 'main',
  image: 'i',
  ...(sc ? { securityContext: sc } : {}),
});

describe('parsePasswd', () => {
  it('reads name, uid, gid and home, and skips lines that are not entries', () => {
    expect(users).toEqual([
      { name: 'root', uid: 0, gid: 0, home: '/root' },
      { name: 'node', uid: 1000, gid: 1000, home: '/home/node' },
      { name: 'batchscore', uid: 10001, gid: 10001, home: '/home/batchscore' },
    ]);
  });
});

describe('containerUser', () => {
  it("the container's securityContext over the pod's over the image's USER", () => {
    expect(containerUser(pod({ runAsUser: 1000 }), ctr({ runAsUser: 10001 }), '0', users)).toEqual({
      uid: 10001,
      gid: 10001,
      home: '/home/batchscore',
    });
    expect(containerUser(pod({ runAsUser: 1000, runAsGroup: 5 }), ctr(), '10001:10001', users)).toEqual({
      uid: 1000,
      gid: 5,
      home: '/home/node',
    });
    expect(containerUser(pod(), ctr(), '10001:10002', users)).toEqual({
      uid: 10001,
      gid: 10002,
      home: '/home/batchscore',
    });
    expect(containerUser(pod(), ctr(), 'node', users)).toEqual({ uid: 1000, gid: 1000, home: '/home/node' });
    expect(containerUser(pod(), ctr(), '', users)).toEqual({ uid: 0, gid: 0, home: '/root' });
  });

  it('a uid the image does not know: group 0 and HOME /, as runc does', () => {
    expect(containerUser(pod({ runAsUser: 4242 }), ctr(), '', [])).toEqual({ uid: 4242, gid: 0, home: '/' });
  });

  it('runAsNonRoot refuses root, and a named image user it cannot verify, as the kubelet does', () => {
    const refuse = (p: Pod, c: Container, user: string, message: string) => {
      expect(() => containerUser(p, c, user, users)).toThrow(UserError);
      expect(() => containerUser(p, c, user, users)).toThrow(message);
    };
    refuse(pod({ runAsNonRoot: true }), ctr(), '', 'container has runAsNonRoot and image will run as root');
    refuse(pod(), ctr({ runAsNonRoot: true, runAsUser: 0 }), '10001', 'image will run as root');
    refuse(
      pod({ runAsNonRoot: true }),
      ctr(),
      'node',
      'image has non-numeric user (node), cannot verify user is non-root',
    );
    refuse(pod(), ctr(), 'nobody-here', 'unable to find user nobody-here');
    // A uid that says it is not root passes, whatever the image's USER.
    expect(containerUser(pod({ runAsNonRoot: true, runAsUser: 10001 }), ctr(), 'node', users).uid).toBe(10001);
  });
});

describe('resolveInRoot', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'bs-rootfs-'));
  mkdirSync(path.join(root, 'run'));
  mkdirSync(path.join(root, 'var'));
  mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  symlinkSync('/run', path.join(root, 'var/run')); // absolute: inside the image, not this machine's /run
  symlinkSync('usr/lib', path.join(root, 'lib')); // relative
  symlinkSync('../../..', path.join(root, 'usr/lib/up')); // climbs past the root
  symlinkSync('loop', path.join(root, 'loop'));
  mkdirSync(path.join(root, 'etc'));
  writeFileSync(path.join(root, 'etc/passwd'), 'batchscore:x:10001:10001::/home/batchscore:/bin/sh\n');

  it('follows links inside the root, absolute ones included; the missing rest stays as written', () => {
    expect(resolveInRoot(root, '/var/run/argo/ctr')).toBe('/run/argo/ctr');
    expect(resolveInRoot(root, '/var/run/secrets/kubernetes.io/serviceaccount')).toBe(
      '/run/secrets/kubernetes.io/serviceaccount',
    );
    expect(resolveInRoot(root, '/lib/x86_64')).toBe('/usr/lib/x86_64');
    expect(resolveInRoot(root, '/tmp/')).toBe('/tmp');
    expect(resolveInRoot(root, '/')).toBe('/');
  });

  it('never leaves the root, by links or by ..', () => {
    expect(resolveInRoot(root, '/usr/lib/up/etc')).toBe('/etc');
    expect(resolveInRoot(root, '/../../etc/passwd')).toBe('/etc/passwd');
  });

  it('refuses a link loop', () => {
    expect(() => resolveInRoot(root, '/loop/x')).toThrow('/loop/x: too many levels of symbolic links in the image');
  });

  it("reads the image's users from its /etc/passwd; none from a root without one", () => {
    expect(imageUsers(root)).toEqual([{ name: 'batchscore', uid: 10001, gid: 10001, home: '/home/batchscore' }]);
    expect(imageUsers(path.join(root, 'run'))).toEqual([]);
  });
});
