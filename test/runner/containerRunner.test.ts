// The pure parts of the pod runner that decide a container's command, environment and volume modes, and the
// Kubernetes rules it applies ($(VAR) expansion, quantities, the downward API), and its image names; and the folders
// and files it makes as the kubelet makes them.
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandLine, envLines } from '../../scripts/cluster/runner/containerRunner.js';
import { containerPrefix, workingContainerName } from '../../scripts/cluster/runner/images.js';
import {
  expand,
  fieldRefValue,
  parseQuantity,
  resourceFieldRefValue,
} from '../../scripts/cluster/runner/k8sSemantics.js';
import type { Container, NodeConfig, Pod } from '../../scripts/cluster/runner/types.js';
import { fsGroupMode, makeSubPath, makeTerminationLog } from '../../scripts/cluster/runner/volumes.js';

const image = { entrypoint: ['batchscore'], cmd: ['--help'] };
const c = (o: Partial<Container>): Container => ({ name: 'main', image: 'i', ...o });

describe('commandLine', () => {
  it("command + args; else the image's entrypoint + (args, else its cmd), as Kubernetes combines them", () => {
    expect(commandLine(c({ command: ['sh', '-c'], args: ['echo hi'] }), image, {})).toEqual(['sh', '-c', 'echo hi']);
    // A command given without args drops the image's cmd.
    expect(commandLine(c({ command: ['batchscore'] }), image, {})).toEqual(['batchscore']);
    expect(commandLine(c({ args: ['score', '--pod', '0'] }), image, {})).toEqual(['batchscore', 'score', '--pod', '0']);
    expect(commandLine(c({}), image, {})).toEqual(['batchscore', '--help']);
    expect(commandLine(c({}), { entrypoint: [], cmd: ['node'] }, {})).toEqual(['node']);
  });

  it('expands $(VAR) from the environment, leaves unknown ones and $$ as Kubernetes does', () => {
    expect(commandLine(c({ command: ['echo', '$(A)-$(B)-$$(A)'] }), undefined, { A: 'a' })).toEqual([
      'echo',
      'a-$(B)-$(A)',
    ]);
  });

  it('a container with no command whose image has no entrypoint cannot start', () => {
    expect(() => commandLine(c({ image: 'scratch-thing' }), { entrypoint: [], cmd: [] }, {})).toThrow(
      'container main: no command, and image scratch-thing has no entrypoint; set command',
    );
    expect(() => commandLine(c({ image: 'unknown' }), undefined, {})).toThrow(
      'container main: no command, and no image entrypoint is known for unknown; set command',
    );
  });
});

describe('envLines', () => {
  it("reads an image config's KEY=VALUE lines; a value may hold =", () => {
    expect(envLines(['PATH=/usr/bin:/bin', 'NODE_ENV=production', 'X=a=b', 'EMPTY=', 'junk'])).toEqual({
      PATH: '/usr/bin:/bin',
      NODE_ENV: 'production',
      X: 'a=b',
      EMPTY: '',
    });
  });
});

describe('expand', () => {
  const lookup = (n: string) => ({ A: 'x', EMPTY: '' })[n];
  it.each([
    ['$(A)', 'x'],
    ['$(A)$(A)', 'xx'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$x'],
    ['$(MISSING)', '$(MISSING)'],
    ['$(EMPTY)|', '|'],
    ['$(A', '$(A'],
    ['$A', '$A'],
    ['a$', 'a$'],
    ['no dollar', 'no dollar'],
  ])('%s → %s', (input, out) => expect(expand(input, lookup)).toBe(out));
});

describe('quantities and the downward API', () => {
  it('parses Kubernetes quantities', () => {
    expect([parseQuantity('500m'), parseQuantity('2Gi'), parseQuantity('1e3'), parseQuantity(4)]).toEqual([
      0.5,
      2 * 2 ** 30,
      1000,
      4,
    ]);
    expect(() => parseQuantity('2 apples')).toThrow('quantity "2 apples" is not a Kubernetes quantity');
  });

  const pod: Pod = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u', labels: { b: '2', a: '1' } },
    spec: {
      nodeName: 'cpu-node-1',
      containers: [c({ resources: { limits: { cpu: '2' }, requests: { memory: '1Gi' } } })],
    },
  };
  const node: NodeConfig = { name: 'cpu-node-1', labels: {}, taints: [], capacity: { cpu: '16', memory: '64Gi' } };

  it('fieldRef: names, labels (sorted), the node, the pod IP (loopback)', () => {
    expect(fieldRefValue(pod, 'metadata.name')).toBe('p');
    expect(fieldRefValue(pod, 'metadata.labels')).toBe('a="1"\nb="2"');
    expect(fieldRefValue(pod, "metadata.labels['b']")).toBe('2');
    expect(fieldRefValue(pod, 'spec.nodeName')).toBe('cpu-node-1');
    expect(fieldRefValue(pod, 'status.podIP')).toBe('127.0.0.1');
    expect(() => fieldRefValue(pod, 'spec.nope')).toThrow('fieldRef spec.nope: not a field the downward API offers');
  });

  it("resourceFieldRef: the container's limit or request, an unset limit the node's, with the divisor", () => {
    const main = pod.spec.containers[0]!;
    expect(resourceFieldRefValue(pod, main, { resource: 'limits.cpu' }, node)).toBe('2');
    expect(resourceFieldRefValue(pod, main, { resource: 'limits.memory', divisor: '1Gi' }, node)).toBe('64');
    expect(resourceFieldRefValue(pod, main, { resource: 'requests.memory', divisor: '1Mi' }, node)).toBe('1024');
    expect(resourceFieldRefValue(pod, main, { resource: 'requests.cpu', divisor: '1m' }, node)).toBe('2000');
  });
});

describe('fsGroupMode', () => {
  it('gives the group what SetVolumeOwnership gives it: rw (r for read-only volumes), setgid folders', () => {
    expect(fsGroupMode(0o755, true, false).toString(8)).toBe('2775');
    expect(fsGroupMode(0o755, true, true).toString(8)).toBe('2755');
    expect(fsGroupMode(0o644, false, false).toString(8)).toBe('664');
    expect(fsGroupMode(0o400, false, true).toString(8)).toBe('440');
  });
});

describe('folders and files the kubelet makes for a container', () => {
  // Argo 4.1's resource template (a backfill's dates) runs its main container read-only, with /tmp from subPath "0"
  // of an emptyDir, as user 8737: a subPath made 0755 by root left it "open /tmp/manifest.yaml: permission denied".
  it("a subPath's missing folders take the volume's mode (SafeMakeDir), whatever the umask", async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'bs-subpath-'));
    const old = process.umask(0o022);
    try {
      for (const [name, mode] of [
        ['empty', 0o777],
        ['shared', 0o2770],
      ] as const) {
        const vol = path.join(base, name);
        await mkdir(vol);
        await chmod(vol, mode);
        makeSubPath(vol, path.join(vol, '0', 'a'));
        expect([
          (await stat(path.join(vol, '0'))).mode & 0o7777,
          (await stat(path.join(vol, '0', 'a'))).mode & 0o7777,
        ]).toEqual([mode, mode]);
      }
      // What exists is left as it is.
      const vol = path.join(base, 'empty');
      await chmod(path.join(vol, '0'), 0o700);
      makeSubPath(vol, path.join(vol, '0', 'b'));
      expect((await stat(path.join(vol, '0'))).mode & 0o7777).toBe(0o700);
    } finally {
      process.umask(old);
      await rm(base, { recursive: true, force: true });
    }
  });

  it('the termination-message file is empty and writable by any user (0666)', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'bs-termlog-'));
    try {
      const f = path.join(base, 'termination-log');
      await writeFile(f, 'an earlier message');
      makeTerminationLog(f);
      expect([(await stat(f)).mode & 0o777, (await stat(f)).size]).toEqual([0o666, 0]);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('image working containers', () => {
  it('are named per runner (its state folder) and per image, so that `down` finds exactly its own', () => {
    const a = containerPrefix('/state/a/runner');
    expect(a).toMatch(/^bs-podrunner-[0-9a-f]{10}$/);
    expect(containerPrefix('/state/b/runner')).not.toBe(a);
    const name = workingContainerName(a, 'ghcr.io/batchscore/batchscore-worker:0.1.0-cpu');
    expect(name).toMatch(new RegExp(`^${a}-[0-9a-f]{12}$`));
    expect(workingContainerName(a, 'quay.io/argoproj/argoexec:v4.1.2')).not.toBe(name);
  });
});
