// The pod runner's container file system plan (scripts/cluster/runner/mounts.ts) and the script it becomes.
import { describe, expect, it } from 'vitest';
import { execFailure, mountOrder, setupScript, volumeBinds, type Bind } from '../../scripts/cluster/runner/mounts.js';
import type { Container } from '../../scripts/cluster/runner/types.js';

const container = (volumeMounts: Container['volumeMounts']): Container => ({ name: 'main', image: 'x', volumeMounts });

describe('volumeBinds', () => {
  const volumes = new Map([
    ['scratch', '/pods/p/volumes/scratch'],
    ['job', '/pods/p/volumes/job'],
  ]);

  it('binds each mount at its mountPath, subPath and $(VAR) subPathExpr inside the volume, readOnly kept', () => {
    const c = container([
      { name: 'scratch', mountPath: '/tmp/' },
      { name: 'job', mountPath: '/etc/job.yaml', subPath: 'job.yaml', readOnly: true },
      { name: 'scratch', mountPath: '/data', subPathExpr: 'pods/$(POD)' },
    ]);
    const binds = volumeBinds(c, volumes, { POD: 'p-1' }, (src) => src.endsWith('.yaml'));
    expect(binds).toEqual([
      { src: '/pods/p/volumes/scratch', dst: '/tmp', readOnly: false, file: false },
      {
        src: '/pods/p/volumes/job/job.yaml',
        dst: '/etc/job.yaml',
        readOnly: true,
        file: true,
        volume: '/pods/p/volumes/job',
      },
      {
        src: '/pods/p/volumes/scratch/pods/p-1',
        dst: '/data',
        readOnly: false,
        file: false,
        volume: '/pods/p/volumes/scratch',
      },
    ]);
  });

  it('refuses a subPath that leaves the volume, and a mount of a volume the pod does not have', () => {
    for (const subPath of ['/etc', '../other', 'a/../../b']) {
      expect(() =>
        volumeBinds(container([{ name: 'scratch', mountPath: '/x', subPath }]), volumes, {}, () => false),
      ).toThrow(`container main: volumeMount scratch: subPath ${subPath} must be a relative path inside the volume`);
    }
    expect(() => volumeBinds(container([{ name: 'nope', mountPath: '/x' }]), volumes, {}, () => false)).toThrow(
      'container main: volumeMount nope: no volume of that name in the pod',
    );
  });
});

describe('mountOrder', () => {
  it('mounts parents before children, whatever order the spec lists them in; else in the spec order', () => {
    const b = (dst: string): Bind => ({ src: '/s', dst, readOnly: false, file: false });
    expect(mountOrder([b('/mainctrfs/tmp'), b('/var/run/argo'), b('/mainctrfs'), b('/tmp')]).map((x) => x.dst)).toEqual(
      ['/mainctrfs', '/tmp', '/mainctrfs/tmp', '/var/run/argo'],
    );
  });
});

describe('setupScript', () => {
  const binds: Bind[] = [
    { src: '/v/argo', dst: '/run/argo', readOnly: false, file: false },
    { src: "/v/it's", dst: '/etc/job.yaml', readOnly: true, file: true },
  ];

  it('image mode: an overlay of the image, the kernel file systems, the binds, then a chroot as the user', () => {
    const script = setupScript({
      startError: '/c/start-error',
      cgroup: '/sys/fs/cgroup/x',
      root: { lower: '/img', upper: '/c/upper', work: '/c/work', merged: '/c/root', readOnly: true },
      binds,
      workingDir: '/opt/batchscore',
      user: { uid: 10001, gid: 10002 },
    }).split('\n');
    expect(script[0]).toBe(`fail() { printf %s "$1" > '/c/start-error'; exit 128; }`);
    expect(script[1]).toBe(`echo $$ > '/sys/fs/cgroup/x/cgroup.procs' 2>/dev/null || true`);
    expect(script[2]).toBe(
      `mount -t overlay overlay -o 'lowerdir=/img,upperdir=/c/upper,workdir=/c/work' '/c/root' ` +
        `|| fail 'cannot mount the image (overlay of /img)'`,
    );
    expect(script).toContain(
      `mkdir -p '/c/root/run/argo' && mount --bind '/v/argo' '/c/root/run/argo' ` +
        `|| fail 'cannot mount /v/argo at /run/argo'`,
    );
    expect(script).toContain(
      `{ [ -e '/c/root/etc/job.yaml' ] || { mkdir -p '/c/root/etc' && : > '/c/root/etc/job.yaml'; }; } && ` +
        `mount --bind '/v/it'\\''s' '/c/root/etc/job.yaml' || fail 'cannot mount /v/it'\\''s at /etc/job.yaml'`,
    );
    expect(script).toContain(
      `mount -o remount,bind,ro '/c/root/etc/job.yaml' || fail 'cannot make /etc/job.yaml read-only'`,
    );
    // The root goes read-only after every mount point is made in it, and the command runs chrooted as the user.
    expect(script.slice(-3)).toEqual([
      `mkdir -p '/c/root/opt/batchscore' || fail 'cannot make workingDir /opt/batchscore'`,
      `mount -o remount,ro '/c/root' || fail 'cannot make the root file system read-only'`,
      `exec unshare --root='/c/root' --wd='/opt/batchscore' --setgid 10002 --setuid 10001 -- "$@"`,
    ]);
    for (const fs of ['/proc', '/sys', '/dev', '/dev/shm']) expect(script.join('\n')).toContain(`'/c/root${fs}'`);
  });

  it('checkout mode: the binds on this machine, then the command from PATH', () => {
    const script = setupScript({ startError: '/c/e', binds, workingDir: '/w' }).split('\n');
    expect(script).toContain(
      `mkdir -p '/run/argo' && mount --bind '/v/argo' '/run/argo' || fail 'cannot mount /v/argo at /run/argo'`,
    );
    expect(script.slice(-3)).toEqual([
      `mkdir -p '/w' && cd '/w' || fail 'cannot change to workingDir /w'`,
      `command -v "$1" >/dev/null 2>&1 || fail "exec: \\"$1\\": executable file not found in \\$PATH"`,
      'exec "$@"',
    ]);
    expect(script.join('\n')).not.toMatch(/overlay|unshare/);
  });
});

describe('execFailure', () => {
  it("words unshare's failure to exec the command as the kubelet does", () => {
    expect(execFailure('unshare: failed to execute batchscore: No such file or directory\n', 'batchscore')).toBe(
      'exec: "batchscore": executable file not found in $PATH',
    );
    expect(execFailure('x\nunshare: failed to execute /bin/nope: No such file or directory\n', '/bin/nope')).toBe(
      'exec: "/bin/nope": stat /bin/nope: no such file or directory',
    );
    expect(execFailure('unshare: failed to execute /etc/passwd: Permission denied', '/etc/passwd')).toBe(
      'exec: "/etc/passwd": permission denied',
    );
  });

  it("is nothing when the command ran (its own output, even one that looks alike, is not unshare's)", () => {
    expect(execFailure('unshare: failed to execute other: No such file or directory', 'batchscore')).toBeUndefined();
    expect(
      execFailure('unshare: failed to execute batchscore: No such file or directory\nlater', 'batchscore'),
    ).toBeUndefined();
    expect(execFailure('', 'batchscore')).toBeUndefined();
  });
});
