// A stand-in for Argo's executor image (quay.io/argoproj/argoexec:VERSION) made from the argoexec binary the test
// cluster's stack built, so that the pod runner runs Argo's init and wait containers from an image as it runs the
// worker's. Laid out as Argo's own Dockerfile lays out its argoexec target: /bin/argoexec on a distroless-like root
// (/etc/passwd with root, nobody and nonroot, /etc/group, /etc/nsswitch.conf, a world-writable /tmp) and
// ENTRYPOINT ["argoexec"]. Not there: distroless's CA bundle and time zones, and Argo's /etc/mime.types and ssh
// known hosts (for artifact repositories, which the test cluster does not use).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildahOk, inspectImage } from './buildah.js';

const run = promisify(execFile);

/** The label that says which binary an executor image holds: it is made again when the stack's binary changes. */
export const BINARY_LABEL = 'dev.batchscore.argoexec-sha256';

/** Pure: Argo's executor image reference for a version as a binary reports it (`v4.1.2+unknown` → `…:v4.1.2`). */
export function executorImageRef(version: string): string {
  const m = /v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)/.exec(version);
  if (!m) throw new Error(`argoexec version ${JSON.stringify(version)}: no x.y.z in it`);
  return `quay.io/argoproj/argoexec:v${m[1]}`;
}

/** The version the binary reports (`argoexec version`). */
export async function argoexecVersion(binary: string): Promise<string> {
  const { stdout, stderr } = await run(binary, ['version']);
  const m = /v\d+\.\d+\.\d+\S*/.exec(stdout + stderr);
  if (!m) throw new Error(`${binary} version: no version in ${JSON.stringify((stdout + stderr).slice(0, 200))}`);
  return m[0];
}

/** Pure: the Containerfile of the executor stand-in (context: argoexec, root.tar). */
export function argoexecContainerfile(sha256: string, version: string): string {
  return [
    `# stand-in for Argo's executor image ${version}: the test cluster's own argoexec. Written by scripts/image.`,
    'FROM scratch',
    'ADD root.tar /',
    'COPY argoexec /bin/argoexec',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `LABEL ${BINARY_LABEL}=${sha256}`,
    'ENTRYPOINT ["argoexec"]',
    '',
  ].join('\n');
}

/**
 * The executor image for `binary` in local storage under `ref`: kept when it holds this binary already, made
 * otherwise. Returns whether it was made.
 */
export async function ensureArgoexecImage(binary: string, ref: string): Promise<boolean> {
  const sha256 = createHash('sha256')
    .update(await readFile(binary))
    .digest('hex');
  const stored = await inspectImage(ref);
  if (stored?.labels[BINARY_LABEL] === sha256) return false;
  const ctx = await mkdtemp(path.join(tmpdir(), 'bs-argoexec-'));
  try {
    const root = path.join(ctx, 'root');
    await mkdir(path.join(root, 'etc'), { recursive: true });
    await mkdir(path.join(root, 'tmp'), { recursive: true });
    await mkdir(path.join(root, 'root'), { recursive: true });
    await mkdir(path.join(root, 'home', 'nonroot'), { recursive: true });
    await chmod(path.join(root, 'tmp'), 0o1777);
    await writeFile(
      path.join(root, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' +
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
    );
    await writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
    await writeFile(path.join(root, 'etc', 'nsswitch.conf'), 'hosts: files dns\n');
    await run('tar', ['--owner=0', '--group=0', '--numeric-owner', '-cf', path.join(ctx, 'root.tar'), '-C', root, '.']);
    await copyFile(binary, path.join(ctx, 'argoexec'));
    await chmod(path.join(ctx, 'argoexec'), 0o755);
    await writeFile(path.join(ctx, 'Containerfile'), argoexecContainerfile(sha256, ref));
    await buildahOk(
      ['bud', '--isolation', 'chroot', '--pull=never', '--layers=false', '-f', 'Containerfile', '-t', ref, '.'],
      {
        cwd: ctx,
      },
    );
    return true;
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
