// Dockerfile.worker's cpu target, built with buildah (`npm run image:build`, cached: a no-op when nothing changed)
// and run as a pod runs it: inside the image, as its user 10001, with the image's files read-only (its root bound
// read-only in a mount namespace of the test's own). `--version`, `--help`, the image's Node, a plan → score → merge
// against the tests' S3 server (moto) whose output is every row exactly once with onnxruntime's own scores, and a
// job that needs CUDA refused with exit 65, with no network at all.
// Needs buildah and root (buildah's chroot isolation), and is asked for with BATCHSCORE_IMAGE_TEST=1 (as .ci/run
// sets; a missing buildah then fails): a cold build takes minutes and tens of GB of disk under vfs, which is
// more than the README's test line should spend unasked. Without it the tests are skipped with one line.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BATCHSCORE_VERSION, DEFAULT_IMAGES, IMAGE_ENV, LocalStore } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_OPTIONS } from '../../scripts/image/buildah.js';
import { buildWorkerImage } from '../support/buildWorkerImage.js';
import { CREDIT_MODEL } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

const TAG = DEFAULT_IMAGES.cpu;
const DATE = '2024-12-01';
const WANTED = process.env.BATCHSCORE_IMAGE_TEST;
// Root: buildah's chroot isolation, and the read-only view's mount namespace.
const HAVE_BUILDAH = spawnSync('buildah', ['--version']).status === 0 && process.getuid?.() === 0;
if (WANTED === '1' && !HAVE_BUILDAH)
  throw new Error('BATCHSCORE_IMAGE_TEST=1, but buildah is not installed or not root');
if (WANTED !== '1')
  console.warn(
    'test/docker/image.test.ts skipped: BATCHSCORE_IMAGE_TEST=1 builds the worker image and runs it (buildah, root)',
  );

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const container = `bs-imagetest-${process.pid}`;
let rootfs: string;
let work: string;
let imageEnv: Record<string, string>;

function buildah(args: string[]): string {
  const r = spawnSync('buildah', [...STORAGE_OPTIONS, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`buildah ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * `args` run in the image (buildah run, chroot isolation) as user 10001, its root file system read-only: bound
 * read-only onto itself in a mount namespace made for this one command, with a tmpfs at /run, as container
 * runtimes give one (buildah writes its /run/.containerenv there, and fails without). `work` is mounted read-write
 * at /tmp, the working folder (as the rendered pods mount their scratch emptyDir there). With `network: 'none'` the
 * command runs in a network namespace of its own with no interface up (chroot isolation only runs in the caller's).
 * The command's output is written to files in /tmp and read from there: buildah run relays a container's output, and
 * under load it loses the end of it when the container exits (seen: "touch: " for a whole line, 1 run in 60 with the
 * machine's cores busy, and once in CI).
 */
function inImage(args: string[], o: { env?: Record<string, string>; network?: 'host' | 'none' } = {}): Promise<Ran> {
  const env = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const out = `inimage-${++inImageCalls}`;
  const run = [
    'buildah',
    ...STORAGE_OPTIONS,
    'run',
    '--isolation',
    'chroot',
    '--user',
    '10001:10001',
    '--network',
    'host',
    '--volume',
    `${work}:/tmp:rw`,
    '--workingdir',
    '/tmp',
    ...env,
    container,
    '--',
    'sh',
    '-c',
    'out=$1; shift; "$@" >"$out.stdout" 2>"$out.stderr"',
    'sh',
    `/tmp/${out}`,
    ...args,
  ];
  const script =
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && mount -t tmpfs -o mode=755 tmpfs "$1/run" ' +
    '&& shift && exec "$@"';
  return new Promise((resolve) => {
    const net = o.network === 'none' ? ['--net'] : [];
    const unshare = ['--mount', ...net, '--propagation', 'private', 'sh', '-c', script, 'sh', rootfs, ...run];
    const child = spawn('unshare', unshare);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('close', (code) => {
      // The command's own output first, then what buildah said (its "exit status N" lines, a failure to start).
      const read = (name: string) => readFile(path.join(work, `${out}.${name}`), 'utf8').catch(() => '');
      void Promise.all([read('stdout'), read('stderr')]).then(([o, e]) =>
        resolve({ code: code ?? 128, stdout: o + stdout, stderr: e + stderr }),
      );
    });
  });
}
let inImageCalls = 0;

describe.runIf(HAVE_BUILDAH && WANTED === '1')(`${TAG}, built with buildah and run as a pod runs it`, () => {
  let s3: S3Server;

  beforeAll(async () => {
    const built = await buildWorkerImage();
    // Its size report and times, for whoever reads the run.
    console.log(built.stderr);
    expect(built.status, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ tag: TAG });
    buildah(['from', '--pull=never', '--name', container, TAG]);
    rootfs = buildah(['mount', container]);
    imageEnv = Object.fromEntries(
      (JSON.parse(buildah(['inspect', '--type', 'image', TAG])).OCIv1.config.Env as string[]).map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1)];
      }),
    );
    work = await mkdtemp(path.join(tmpdir(), 'bs-image-'));
    await chmod(work, 0o777); // the image's user writes there
    s3 = await startS3();
  }, 1_800_000);

  afterAll(async () => {
    if (rootfs) spawnSync('buildah', [...STORAGE_OPTIONS, 'rm', container]);
    await s3?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('batchscore --version and --help, from PATH, with no network', async () => {
    const version = await inImage(['batchscore', '--version'], { network: 'none' });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toBe(`batchscore ${BATCHSCORE_VERSION}\n`);
    const help = await inImage(['batchscore', '--help'], { network: 'none' });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout.split('\n')[0]).toBe('batchscore: score large datasets with ONNX models as batch jobs');
  });

  it("runs Node 22 (the image's own, not this machine's) as uid 10001, on a root it cannot write", async () => {
    const r = await inImage([
      'sh',
      '-c',
      'node --version; id -u; id -g; for f in /opt/batchscore/x /home/batchscore/x /x; do touch $f 2>&1; done',
    ]);
    const [node, uid, gid, ...touched] = r.stdout.trim().split('\n');
    expect(node).toMatch(/^v22\.\d+\.\d+$/);
    expect(node).toBe(`v${imageEnv.NODE_VERSION}`);
    expect(node).not.toBe(process.version);
    expect([uid, gid]).toEqual(['10001', '10001']);
    expect(touched).toEqual(
      ['/opt/batchscore/x', '/home/batchscore/x', '/x'].map((f) => `touch: cannot touch '${f}': Read-only file system`),
    );
    expect(r.code).toBe(1);
    const info = await inImage(['batchscore', 'version', '-o', 'json'], { network: 'none' });
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ version: BATCHSCORE_VERSION, node, platform: 'linux/x64' });
  });

  it('holds production dependencies only, onnxruntime for linux/x64 only, no CUDA provider', async () => {
    const nm = path.join(rootfs, 'opt/batchscore/node_modules');
    for (const dev of ['typescript', 'vitest', 'ajv', '@duckdb/node-api', 'nodejs-polars'])
      expect(existsSync(path.join(nm, dev)), dev).toBe(false);
    for (const prod of ['onnxruntime-node', 'apache-arrow']) expect(existsSync(path.join(nm, prod)), prod).toBe(true);
    const ort = path.join(nm, 'onnxruntime-node/bin/napi-v6');
    expect(readdirSync(ort)).toEqual(['linux']);
    expect(readdirSync(path.join(ort, 'linux'))).toEqual(['x64']);
    expect(readdirSync(path.join(ort, 'linux/x64')).sort()).toEqual([
      'libonnxruntime.so.1',
      'onnxruntime_binding.node',
    ]);
  });

  it(
    'plans, scores and merges a job on the S3 server: every row exactly once, scored as onnxruntime scores it, ' +
      'the manifest naming the image and its Node for every shard',
    async () => {
      const bucket = await s3.bucket('image');
      const store = new S3Store({ bucket, prefix: '', client: s3.client });
      await store.put('models/credit.onnx', await readFile(CREDIT_MODEL));
      const { table } = await writeCustomers(store, 'in/', 3_000, 1_000, 500);
      await writeFile(
        path.join(work, 'job.yaml'),
        jobYaml({
          input: `s3://${bucket}/in/`,
          model: `s3://${bucket}/models/credit.onnx`,
          output: `s3://${bucket}/out/`,
          rowsPerShard: 1_000,
        }),
      );
      const env = { ...s3Env(s3.endpoint), [IMAGE_ENV]: TAG };
      const cli = (args: string[]) => inImage(['batchscore', ...args, '--date', DATE, '--log-format', 'json'], { env });
      const plan = await cli(['plan', 'job.yaml']);
      expect(plan.code, plan.stderr).toBe(0);
      for (const pod of [0, 1]) {
        const score = await cli(['score', 'job.yaml', '--pod', String(pod), '--pods', '2']);
        expect(score.code, score.stderr).toBe(0);
      }
      const merge = await cli(['merge', 'job.yaml']);
      expect(merge.code, merge.stderr).toBe(0);
      expect(JSON.parse(merge.stdout)).toMatchObject({ status: 'complete', rowsOut: 3_000, executionProvider: 'cpu' });

      const out = new S3Store({ bucket, prefix: 'out/', client: s3.client });
      const m = await readManifest(out, DATE);
      const { table: scored } = await readOutputRows(out, m);
      const ids = table.getChild('customer_id')!.toArray() as BigInt64Array;
      expect(compareToReference(scored, ids, await referenceScores(table))).toEqual({
        duplicated: 0,
        missing: 0,
        unknown: 0,
        maxDiff: 0,
        rows: 3_000,
      });
      const ortVersion = JSON.parse(
        await readFile(path.join(rootfs, 'opt/batchscore/node_modules/onnxruntime-node/package.json'), 'utf8'),
      ).version as string;
      expect(m.shards.map((s) => [s.index, s.image, s.node_version, s.onnxruntime_version])).toEqual(
        [0, 1, 2].map((i) => [i, TAG, `v${imageEnv.NODE_VERSION}`, ortVersion]),
      );
    },
  );

  it('a job that needs CUDA, on an image with no CUDA provider: exits 65 with the reason', async () => {
    // All of it on the local disk, with no network: nothing is fetched when onnxruntime looks for CUDA.
    await mkdir(path.join(work, 'local'), { recursive: true });
    await writeCustomers(new LocalStore(path.join(work, 'local')), 'in/', 300, 300, 100);
    await writeFile(
      path.join(work, 'cuda.yaml'),
      jobYaml({
        input: '/tmp/local/in/',
        model: '/opt/batchscore/models/credit.onnx',
        output: '/tmp/local/out/',
        extra: '  worker: {device: cuda}\n',
      }),
    );
    spawnSync('chmod', ['-R', 'a+rwX', work]);
    const plan = await inImage(['batchscore', 'plan', 'cuda.yaml', '--date', DATE], { network: 'none' });
    expect(plan.code, plan.stderr).toBe(0);
    const score = await inImage(['batchscore', 'score', 'cuda.yaml', '--date', DATE, '--shard', '0'], {
      network: 'none',
    });
    expect(score.code, score.stderr).toBe(65);
    expect(score.stderr).toMatch(
      new RegExp(
        '^batchscore: error \\[MODEL_INVALID\\]: file:///opt/batchscore/models/credit\\.onnx: ' +
          'spec\\.worker\\.device is cuda, but the CUDA execution provider cannot load: ',
      ),
    );
  });
});
