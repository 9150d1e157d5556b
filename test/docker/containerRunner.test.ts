// The pod runner's containers in image mode (scripts/cluster/runner/containerRunner.ts), without a cluster: a pod's
// container run from the worker image in buildah's storage, as the real-engine suite's pods run, checked from the
// inside: its user and group (securityContext), its Node (the image's), its read-only root, its volumes at their
// mountPath (/var/run/argo through the image's /var/run -> /run link, inside the image), /etc/hostname, HOME, the
// service variables; and how a container that cannot start, or fails, is reported.
// Needs buildah and root, like image.test.ts (whose gate it shares), and the image that test builds: it builds it
// too (a no-op when built).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_IMAGES } from '@batchscore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  prepareContainer,
  startContainer,
  termination,
  type ContainerContext,
} from '../../scripts/cluster/runner/containerRunner.js';
import { ImageStore, removeWorkingContainers } from '../../scripts/cluster/runner/images.js';
import type { Kube } from '../../scripts/cluster/runner/kube.js';
import type { Container, Pod } from '../../scripts/cluster/runner/types.js';
import { PodVolumes } from '../../scripts/cluster/runner/volumes.js';
import { buildWorkerImage } from '../support/buildWorkerImage.js';

const WANTED = process.env.BATCHSCORE_IMAGE_TEST;
const HAVE_BUILDAH = spawnSync('buildah', ['--version']).status === 0 && process.getuid?.() === 0;
const PREFIX = `bs-runnertest-${process.pid}`;

describe.runIf(HAVE_BUILDAH && WANTED === '1')('a pod container run from its image by the pod runner', () => {
  let dir: string;
  let images: ImageStore;
  // No Secret, ConfigMap or token is read: the pod's volumes are emptyDirs and its env plain values.
  const kube = {} as Kube;

  beforeAll(async () => {
    const built = await buildWorkerImage();
    expect(built.status, built.stderr).toBe(0);
    dir = mkdtempSync(path.join(tmpdir(), 'bs-runner-'));
    images = new ImageStore(PREFIX, {});
  }, 1_800_000);

  afterAll(async () => {
    await removeWorkingContainers(PREFIX);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const pod = (c: Container): Pod => ({
    metadata: { name: 'score-1', namespace: 'ns', uid: 'uid-1' },
    spec: {
      nodeName: 'cpu-node-1',
      containers: [c],
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'var-run-argo', emptyDir: {} },
      ],
    },
  });

  /** Runs the container to its end: its termination, stdout and stderr, and the pod's folder. */
  async function run(c: Container) {
    const p = pod(c);
    const podDir = path.join(dir, `${c.name}`);
    mkdirSync(path.join(podDir, 'logs'), { recursive: true });
    const volumes = new PodVolumes(kube, p, podDir, { stateDir: dir, node: undefined, log: () => {} });
    await volumes.prepare();
    const ctx: ContainerContext = {
      kube,
      pod: p,
      node: undefined,
      dir: podDir,
      apiServerPort: 6443,
      podsFrom: { from: 'image', aliases: {} },
      volumes: volumes.paths,
    };
    const ctrDir = path.join(podDir, 'containers', `${c.name}-0`);
    mkdirSync(ctrDir, { recursive: true });
    const launch = await prepareContainer(ctx, c, ctrDir, undefined, (ref) => images.get(ref));
    const logs = path.join(podDir, 'logs');
    const started = await startContainer(c.name!, launch, { ctrDir, logs, cwd: podDir });
    const exit = await started.exited;
    const t = await termination(c, launch, started, exit, { ctrDir, logs });
    const read = (f: string) => readFileSync(path.join(logs, f), 'utf8');
    return { t, stdout: read(`${c.name}.stdout`), stderr: read(`${c.name}.stderr`), podDir, launch };
  }

  it(
    "runs as the pod's user on the image's read-only root, with its Node, its volumes where the spec puts them, " +
      'inside the image',
    async () => {
      const script = [
        'id -u; id -g; node --version; cat /etc/hostname; echo "$HOME"; echo "$KUBERNETES_SERVICE_PORT"',
        'echo "$NODE_ENV $JOB"; pwd',
        'echo scratch > /tmp/out; echo argo > /var/run/argo/out',
        'touch /opt/batchscore/x 2>/dev/null || echo read-only',
        'echo "$$$$"', // $$ in a pod spec's command is a literal $: the shell gets $$
      ].join('; ');
      const r = await run({
        name: 'main',
        image: DEFAULT_IMAGES.cpu,
        command: ['sh', '-c', script],
        env: [{ name: 'JOB', value: 'credit-$(KUBERNETES_SERVICE_PORT)' }],
        securityContext: { readOnlyRootFilesystem: true },
        volumeMounts: [
          { name: 'scratch', mountPath: '/tmp' },
          { name: 'var-run-argo', mountPath: '/var/run/argo' },
        ],
      });
      expect(r.t, r.stderr).toEqual({ exitCode: 0, reason: 'Completed' });
      const [uid, gid, node, hostname, home, port, envs, cwd, ro, pid] = r.stdout.trim().split('\n');
      expect([uid, gid, hostname, home, port, envs, cwd, ro, pid]).toEqual([
        '10001',
        '10001',
        'score-1',
        '/home/batchscore',
        '6443',
        'production credit-6443',
        '/opt/batchscore',
        'read-only',
        '1', // pid 1 of the container's own pid namespace
      ]);
      expect(node).toMatch(/^v22\./);
      // The volumes got the writes, and /var/run/argo went through the image's /var/run -> /run link to the volume,
      // not to this machine's /run.
      expect(readFileSync(path.join(r.podDir, 'volumes/scratch/out'), 'utf8')).toBe('scratch\n');
      expect(readFileSync(path.join(r.podDir, 'volumes/var-run-argo/out'), 'utf8')).toBe('argo\n');
      expect(r.launch.plan.binds.map((b) => b.dst)).toContain('/run/argo');
    },
  );

  it('an image named under an alias shares the working container of the image it runs from, which stays', async () => {
    const gpu = DEFAULT_IMAGES.gpu;
    const aliased = new ImageStore(`${PREFIX}-alias`, { [gpu]: DEFAULT_IMAGES.cpu });
    const cpu = await aliased.get(DEFAULT_IMAGES.cpu);
    const viaAlias = await aliased.get(gpu);
    expect([cpu.ref, cpu.ranAs]).toEqual([DEFAULT_IMAGES.cpu, DEFAULT_IMAGES.cpu]);
    expect([viaAlias.ref, viaAlias.ranAs]).toEqual([gpu, DEFAULT_IMAGES.cpu]);
    expect(viaAlias.root).toBe(cpu.root);
    // Opened under the alias second, the image did not replace the first opening's container (and with it its root).
    expect(existsSync(path.join(cpu.root, 'usr/local/bin/node'))).toBe(true);
    expect(await removeWorkingContainers(`${PREFIX}-alias`)).toHaveLength(1);
  });

  it('a command the image does not have: StartError 128, worded as the kubelet words it', async () => {
    const r = await run({ name: 'nope', image: DEFAULT_IMAGES.cpu, command: ['no-such-command'] });
    expect(r.t).toEqual({
      exitCode: 128,
      reason: 'StartError',
      message: 'exec: "no-such-command": executable file not found in $PATH',
    });
  });

  it('a failing command: its exit code, and its stderr as the message under FallbackToLogsOnError', async () => {
    const r = await run({
      name: 'fails',
      image: DEFAULT_IMAGES.cpu,
      command: ['sh', '-c', 'echo broken >&2; exit 3'],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
    expect(r.t).toEqual({ exitCode: 3, reason: 'Error', message: 'broken\n' });
  });

  it("the image's entrypoint and cmd when the spec gives no command", async () => {
    const r = await run({ name: 'entry', image: DEFAULT_IMAGES.cpu, args: ['--version'] });
    expect(r.t, r.stderr).toEqual({ exitCode: 0, reason: 'Completed' });
    expect(r.launch.argv).toEqual(['batchscore', '--version']);
    expect(r.stdout).toMatch(/^batchscore \d+\.\d+\.\d+\n$/);
  });
});
