// The image build's decisions (scripts/image/), without building: which bases a target needs, what stands in for
// them and how it is made, which npm a Node release bundles, the Argo executor stand-in's name and layout.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { argoexecContainerfile, BINARY_LABEL, executorImageRef } from '../../scripts/image/argoexecImage.js';
import { budImageIds, leftoverBuildContainers } from '../../scripts/image/buildah.js';
import { baseImagesOf, failureReason } from '../../scripts/image/buildImage.js';
import { copySources, dockerignoreMatcher } from '../../scripts/image/contextDigest.js';
import {
  DEFAULT_MIN_FREE_BYTES,
  diskDecision,
  DiskSpaceError,
  ensureDisk,
  minFreeBytes,
} from '../../scripts/image/diskGuard.js';
import { bundledNpmVersion, NODE_STAND_IN } from '../../scripts/image/nodeDist.js';
import { parseDockerfile, stages, stagesFor } from '../../scripts/image/parseDockerfile.js';
import {
  BUILD_CA,
  dockerHubName,
  mmdebstrapArgs,
  standInContainerfile,
  standInRecipe,
  takesBuildCa,
} from '../../scripts/image/standIns.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const all = stages(parseDockerfile(readFileSync(`${REPO}Dockerfile.worker`, 'utf8')));

describe('the bases a target needs', () => {
  it('cpu: the two node:22 images, both of which have stand-ins; gpu: also CUDA, which has none', () => {
    expect(baseImagesOf(all, 'cpu')).toEqual(['node:22-bookworm', 'node:22-bookworm-slim']);
    expect(baseImagesOf(all, 'gpu')).toEqual(['node:22-bookworm', 'nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04']);
    expect(baseImagesOf(all, 'gpu').map((r) => standInRecipe(r) !== undefined)).toEqual([true, false]);
    expect(() => baseImagesOf(all, 'arm')).toThrow('Dockerfile.worker has no stage named "arm"');
  });
});

describe('stand-ins', () => {
  it('recipes for node:N-SUITE(-slim), under the name Docker resolves them to', () => {
    expect(standInRecipe('node:22-bookworm-slim')).toEqual({
      ref: 'node:22-bookworm-slim',
      tag: 'docker.io/library/node:22-bookworm-slim',
      nodeMajor: 22,
      suite: 'bookworm',
      slim: true,
    });
    expect(standInRecipe('docker.io/library/node:20-trixie')).toMatchObject({ nodeMajor: 20, suite: 'trixie' });
    for (const none of ['node:22', 'node:22-alpine', 'nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04', 'debian:12'])
      expect(standInRecipe(none), none).toBeUndefined();
  });

  it('names: short ones are Docker Hub library images; a registry host stays', () => {
    expect(dockerHubName('node:22')).toBe('docker.io/library/node:22');
    expect(dockerHubName('nvidia/cuda:12')).toBe('docker.io/nvidia/cuda:12');
    expect(dockerHubName('quay.io/argoproj/argoexec:v4.1.2')).toBe('quay.io/argoproj/argoexec:v4.1.2');
    expect(dockerHubName('localhost/x:1')).toBe('localhost/x:1');
    expect(dockerHubName('127.0.0.1:5000/x')).toBe('127.0.0.1:5000/x');
  });

  it("mmdebstrap: minbase, merged /usr (no usrmerge), the suite's updates and security; slim drops docs", () => {
    const slim = mmdebstrapArgs(standInRecipe('node:22-bookworm-slim')!, '/t/rootfs.tar');
    expect(slim.slice(0, 3)).toEqual([
      '--variant=minbase',
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      '--format=tar',
    ]);
    expect(slim).toContain('--dpkgopt=path-exclude=/usr/share/doc/*');
    expect(slim).toContain('--dpkgopt=path-include=/usr/share/doc/*/copyright');
    expect(slim.filter((a) => a.startsWith('--include'))).toEqual([]);
    expect(slim.slice(-5)).toEqual([
      'bookworm',
      '/t/rootfs.tar',
      'deb http://deb.debian.org/debian bookworm main',
      'deb http://deb.debian.org/debian bookworm-updates main',
      'deb http://deb.debian.org/debian-security bookworm-security main',
    ]);
    const full = mmdebstrapArgs(standInRecipe('node:22-bookworm')!, '/t/rootfs.tar');
    expect(full.filter((a) => a.startsWith('--dpkgopt'))).toEqual([]);
    expect(full).toContain('--include=ca-certificates,curl,git,procps,xz-utils');
  });

  it('the Containerfile: Debian, then Node and npm in /usr/local, user node (1000), checked, CMD node', () => {
    const text = standInContainerfile(standInRecipe('node:22-bookworm-slim')!, {
      nodeVersion: '22.23.5',
      npmVersion: '10.9.9',
    });
    const body = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(body).toEqual([
      'FROM scratch',
      'ADD rootfs.tar /',
      'COPY usr-local/ /usr/local/',
      'RUN groupadd --gid 1000 node \\',
      ' && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\',
      ' && test "$(node --version)" = v22.23.5 \\',
      ' && test "$(npm --version)" = 10.9.9',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'ENV NODE_VERSION=22.23.5',
      expect.stringMatching(/^LABEL dev\.batchscore\.stand-in="stand-in for node:22-bookworm-slim: Debian bookworm/),
      'CMD ["node"]',
    ]);
  });

  it("the build machine's extra CA only in a build base, never in the -slim one the cpu image starts from", () => {
    const full = standInRecipe('node:22-bookworm')!;
    const slim = standInRecipe('node:22-bookworm-slim')!;
    expect(takesBuildCa(full, '/etc/ssl/certs/ca-certificates.crt')).toBe(true);
    expect(takesBuildCa(full, undefined)).toBe(false);
    expect(takesBuildCa(slim, '/etc/ssl/certs/ca-certificates.crt')).toBe(false);
    const text = standInContainerfile(full, { nodeVersion: '22.23.5', npmVersion: '10.9.9' }, true);
    expect(text).toContain(`COPY build-host-ca.crt ${BUILD_CA}\nENV NODE_EXTRA_CA_CERTS=${BUILD_CA}\n`);
    expect(standInContainerfile(slim, { nodeVersion: '22.23.5', npmVersion: '10.9.9' })).not.toContain('CA');
  });
});

describe('bundledNpmVersion', () => {
  const changelog = [
    '# Node.js 22 ChangeLog',
    "## 2026-10-01, Version 22.23.5 'Jod' (LTS), @someone",
    '* **crypto**: something',
    "## 2026-09-23, Version 22.23.3 'Jod' (LTS), @someone",
    '* \\[[`b816fc8958`](…)] - **deps**: upgrade npm to 10.9.9 (npm team)',
    "## 2026-08-01, Version 22.23.0 'Jod' (LTS), @someone",
    '* **deps**: update npm to 10.9.8',
  ].join('\n');

  it('the newest npm upgrade at or below the release', () => {
    expect(bundledNpmVersion(changelog, '22.23.5')).toBe('10.9.9');
    expect(bundledNpmVersion(changelog, '22.23.3')).toBe('10.9.9');
    expect(bundledNpmVersion(changelog, '22.23.0')).toBe('10.9.8');
  });

  it('refuses a release the changelog does not have, or one with no npm before it', () => {
    expect(() => bundledNpmVersion(changelog, '22.24.0')).toThrow(
      "Node's CHANGELOG.md has no section for version 22.24.0",
    );
    expect(() => bundledNpmVersion('## x, Version 22.1.0\n', '22.1.0')).toThrow('names no npm upgrade');
  });

  it('the pinned Node is a 22 with an integrity to check', () => {
    expect(NODE_STAND_IN.version).toMatch(/^22\.\d+\.\d+$/);
    expect(NODE_STAND_IN.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  });
});

describe("Argo's executor image stand-in", () => {
  it('is named as the controller names its executor image, from the version the binary reports', () => {
    expect(executorImageRef('v4.1.2+unknown')).toBe('quay.io/argoproj/argoexec:v4.1.2');
    expect(executorImageRef('argoexec: v3.7.18')).toBe('quay.io/argoproj/argoexec:v3.7.18');
    expect(executorImageRef('v4.2.0-rc1')).toBe('quay.io/argoproj/argoexec:v4.2.0-rc1');
    expect(() => executorImageRef('untagged')).toThrow('argoexec version "untagged": no x.y.z in it');
  });

  it("lays argoexec out as Argo's Dockerfile does, labelled with the binary's hash", () => {
    const body = argoexecContainerfile('ab12', 'quay.io/argoproj/argoexec:v4.1.2')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(body).toEqual([
      'FROM scratch',
      'ADD root.tar /',
      'COPY argoexec /bin/argoexec',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `LABEL ${BINARY_LABEL}=ab12`,
      'ENTRYPOINT ["argoexec"]',
    ]);
  });
});

describe('what an image is built from', () => {
  it('.dockerignore as Docker reads it: ** anywhere, * and ? in a part, a folder and all in it, ! exceptions', () => {
    const ignored = dockerignoreMatcher(
      readFileSync(`${REPO}.dockerignore`, 'utf8') + '\n# exceptions\n!packages/cli/keep.test.ts\n/docs/\n',
    );
    const cases: [string, boolean][] = [
      ['node_modules/x/index.js', true],
      ['packages/core/node_modules/x', true],
      ['packages/core/dist/index.js', true],
      ['packages/core/tsconfig.tsbuildinfo', true],
      ['packages/core/src/plan.test.ts', true],
      ['packages/cli/keep.test.ts', false],
      ['packages/core/src/plan.ts', false],
      ['scripts/bundle.mjs', false],
      ['scripts/cluster/runner/main.ts', true],
      ['scripts/image', true],
      ['Dockerfile.worker', true],
      ['docs/README.md', true],
      ['models/credit.onnx', false],
      ['.git', true],
      ['.gitignore', false],
    ];
    expect(cases.map(([p]) => [p, ignored(p)])).toEqual(cases);
  });

  it("the sources of a target's COPY instructions from the context (not those --from a stage)", () => {
    expect(copySources(stagesFor(all, 'cpu'))).toEqual([
      'models',
      'package-lock.json',
      'package.json',
      'packages',
      'packages/cli/package.json',
      'packages/coordinator/package.json',
      'packages/core/package.json',
      'packages/merge/package.json',
      'packages/worker/package.json',
      'scripts',
      'tsconfig*.json',
    ]);
  });

  it("the image ids a build printed: each step's, made or reused", () => {
    const out = [
      '[1/4] STEP 9/9: RUN npm ci --ignore-scripts --no-audit --no-fund',
      '--> Using cache f508e8390961c55dc3887586c7f12b28a6ce4d7a68cf0a82882623fa3fff8583',
      '--> f508e839096',
      '[3/4] STEP 2/7: COPY tsconfig*.json ./',
      '--> 378ae735c6a',
      'Successfully tagged ghcr.io/batchscore/batchscore-worker:0.1.0-cpu',
      'echo "--> deadbeef0000" from a RUN step is not at the start of a line',
    ].join('\n');
    expect(budImageIds(out)).toEqual([
      'f508e8390961c55dc3887586c7f12b28a6ce4d7a68cf0a82882623fa3fff8583',
      'f508e839096',
      '378ae735c6a',
    ]);
  });
});

describe('failureReason', () => {
  it("the error line of a failed build's output, not buildah's step summary", () => {
    const out = [
      '[2/2] STEP 2/2: RUN ... node node_modules/onnxruntime-node/script/install.js',
      'Error: getaddrinfo ENOTFOUND api.nuget.org',
      '    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26) {',
      'Node.js v22.23.5',
      'subprocess exited with status 1',
      'Error: building at STEP "RUN [ ... ]": exit status 1',
    ].join('\n');
    expect(failureReason(out)).toBe('Error: getaddrinfo ENOTFOUND api.nuget.org');
    expect(failureReason('one\nlast line\n')).toBe('last line');
  });
});

describe('the disk a build asks for', () => {
  it('35 GB by default, else BATCHSCORE_IMAGE_MIN_FREE_GB in GB; anything but a number of 0 or more is refused', () => {
    expect(minFreeBytes({})).toBe(35e9);
    expect(DEFAULT_MIN_FREE_BYTES).toBe(35e9);
    expect(minFreeBytes({ BATCHSCORE_IMAGE_MIN_FREE_GB: '' })).toBe(35e9);
    expect(minFreeBytes({ BATCHSCORE_IMAGE_MIN_FREE_GB: '2.5' })).toBe(2.5e9);
    expect(minFreeBytes({ BATCHSCORE_IMAGE_MIN_FREE_GB: '0' })).toBe(0);
    for (const bad of ['-1', 'lots', 'Infinity', '12GB'])
      expect(() => minFreeBytes({ BATCHSCORE_IMAGE_MIN_FREE_GB: bad })).toThrow(
        `BATCHSCORE_IMAGE_MIN_FREE_GB=${JSON.stringify(bad)}: must be a number of GB, 0 or more`,
      );
  });

  it('builds with enough; short, frees the layers of earlier builds first where it may, else stops', () => {
    expect(diskDecision(35e9, 35e9, false)).toBe('build');
    expect(diskDecision(35e9 - 1, 35e9, true)).toBe('free-layers');
    expect(diskDecision(35e9 - 1, 35e9, false)).toBe('stop');
  });

  it('removes the old layers only when short, and stops before building when that was not enough', async () => {
    const said: string[] = [];
    const run = async (frees: number[], canFree: boolean) => {
      let removed = 0;
      let reads = 0;
      const r = await ensureDisk({
        need: 10e9,
        say: (m) => said.push(m),
        free: async () => frees[reads++]!,
        ...(canFree
          ? {
              freeLayers: async () => {
                removed++;
                return 3;
              },
            }
          : {}),
      }).then(
        () => 'built',
        (e: Error) => (e instanceof DiskSpaceError ? e.message : `other: ${e.message}`),
      );
      return { r, removed, reads };
    };
    expect(await run([12e9], true)).toEqual({ r: 'built', removed: 0, reads: 1 });
    expect(said).toEqual([]);
    expect(await run([4e9, 11e9], true)).toEqual({ r: 'built', removed: 1, reads: 2 });
    expect(said).toEqual([
      "4.0 GB free under buildah's storage, less than the 10.0 GB a build may take: removing the layers of " +
        'earlier builds first (this build goes without their cache)',
      'removed 3 image(s): 11.0 GB free',
    ]);
    const short = await run([4e9, 6e9], true);
    expect(short.removed).toBe(1);
    expect(short.r).toMatch(/^6\.0 GB free under buildah's storage, less than the 10\.0 GB .*nothing was built/);
    expect((await run([4e9], false)).r).toMatch(/^4\.0 GB free under buildah's storage, .*nothing was built/);
  });
});

describe('working containers an earlier build left', () => {
  it("bud's and the size measurement's of a process that is gone; never the pod runner's or the tests'", () => {
    const names = [
      'node-working-container',
      'node-working-container-1',
      'ghcr.io-batchscore-batchscore-worker-working-container-12',
      'bs-size-111-1733400000000',
      'bs-size-222-1733400000000',
      'bs-podrunner-0123456789-abcdef012345',
      'bs-image-test-4242',
      'working-container-notes',
    ];
    expect(leftoverBuildContainers(names, (pid) => pid === 222)).toEqual([
      'node-working-container',
      'node-working-container-1',
      'ghcr.io-batchscore-batchscore-worker-working-container-12',
      'bs-size-111-1733400000000',
    ]);
  });
});
