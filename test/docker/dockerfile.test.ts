// Static checks of Dockerfile.worker, for both targets (the gpu image cannot be built where the tests run: its base
// is NVIDIA's CUDA image): this parses the Dockerfile's instructions and checks what the cluster depends on in each
// of its two targets, cpu (a plain Node image, no CUDA) and gpu (CUDA 12 + cuDNN 9 runtime, the CUDA provider
// fetched at build time): numeric non-root user 10001, `batchscore` on PATH as the entrypoint, one Node major
// throughout, one shared build; and that the file keeps up with the repository's layout and DEFAULT_IMAGES.
// image.test.ts builds the cpu target with buildah and runs it.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMAGES } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import {
  baseImage,
  copyFrom,
  parseDockerfile,
  stageNamed,
  stages,
  stagesFor,
  type Stage,
} from '../../scripts/image/parseDockerfile.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(REPO + rel, 'utf8');

const jsonForm = (args: string): unknown => JSON.parse(args);
const nodeMajorOfImage = (image: string) => /^node:(\d+)(?:[.-]|$)/.exec(image)?.[1];

const dockerfile = read('Dockerfile.worker');
const st = stages(parseDockerfile(dockerfile));
const named = (name: string) => {
  const s = stageNamed(st, name);
  if (!s) throw new Error(`Dockerfile.worker has no stage named "${name}"`);
  return s;
};
const deps = named('deps');
const build = named('build');
const cudaProvider = named('cuda-provider');
const cpu = named('cpu');
const gpu = named('gpu');
const runs = (s: Stage) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args);
const last = (s: Stage, op: string) => [...s.body].reverse().find((i) => i.op === op);
const ORT_LINUX_X64 = 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64';

describe('Dockerfile.worker', () => {
  it('has a cpu and a gpu target sharing one build stage; gpu is last, so a build without --target makes it', () => {
    expect(st[st.length - 1]).toBe(gpu);
    expect(build.image).toBe('deps');
    expect(cudaProvider.image).toBe('deps');
    expect(nodeMajorOfImage(deps.image), deps.image).toBeDefined();
    for (const target of [cpu, gpu]) {
      expect(target.image, 'a runtime stage starts from an image, not from the build').not.toMatch(
        /^(deps|build|cuda-provider)$/,
      );
      const copies = target.body.filter((i) => i.op === 'COPY' && copyFrom(i) === 'build').map((i) => i.args);
      expect(copies).toContain('--from=build /opt/batchscore /opt/batchscore');
    }
  });

  it('cpu: a plain Node image with no CUDA anywhere in what it is built from', () => {
    expect(cpu.image).toMatch(/^node:\d+-bookworm-slim$/);
    const built = stagesFor(st, 'cpu').map((s) => s.name);
    expect(built).toEqual(['deps', 'build', 'cpu']);
    const all = stagesFor(st, 'cpu')
      .flatMap((s) => s.body.map((i) => i.args))
      .join('\n');
    expect(all).not.toMatch(/ONNXRUNTIME_NODE_INSTALL|nvidia|cuda-provider/i);
    // And it checks that no CUDA provider came along in node_modules.
    expect(runs(cpu).join('\n')).toMatch(/! test -e \S*libonnxruntime_providers_cuda\.so/);
  });

  it('cpu: the same Debian release as the build stage (the glibc and libstdc++ onnxruntime was loaded with)', () => {
    const debian = (image: string) => /-(bookworm|bullseye|trixie)(?:-|$)/.exec(image)?.[1];
    expect(debian(cpu.image)).toBe(debian(baseImage(st, build)));
  });

  it('gpu: a CUDA 12 runtime image with cuDNN 9 (not a devel image, not cuDNN 8)', () => {
    // nvidia/cuda tags: 12.8.1-cudnn-runtime-ubuntu24.04 (cuDNN 9 since CUDA 12.3), or 12.x.y-cudnn9-runtime-...
    const m = /^nvidia\/cuda:12\.(\d+)\.\d+-cudnn(9)?-runtime-ubuntu\d+\.\d+$/.exec(gpu.image);
    expect(m, gpu.image).not.toBeNull();
    expect(Number(m![1]), 'CUDA 12.3+ images carry cuDNN 9').toBeGreaterThanOrEqual(3);
    expect(stagesFor(st, 'gpu').map((s) => s.name)).toEqual(['deps', 'build', 'cuda-provider', 'gpu']);
  });

  it('builds and runs with the same Node major, one that package.json engines allows', () => {
    const buildMajor = Number(nodeMajorOfImage(baseImage(st, build)));
    expect(Number(nodeMajorOfImage(cpu.image)), 'cpu runs its base image’s node').toBe(buildMajor);
    // gpu's node is copied from the build stage (or installed from NodeSource's setup_NN.x).
    const copy = gpu.body.find((i) => i.op === 'COPY' && /\/bin\/node\s+\S+$/.test(i.args));
    let gpuMajor: number | undefined;
    if (copy) {
      const from = stageNamed(st, copyFrom(copy) ?? '');
      gpuMajor = Number(nodeMajorOfImage(from ? baseImage(st, from) : (copyFrom(copy) ?? '')));
    } else {
      gpuMajor = Number(/setup_(\d+)\.x/.exec(runs(gpu).join('\n'))?.[1]);
    }
    expect(gpuMajor, 'the gpu stage gets node from the build stage or NodeSource').toBe(buildMajor);
    const engines = JSON.parse(read('package.json')).engines.node as string;
    expect(buildMajor).toBeGreaterThanOrEqual(Number(/>=\s*(\d+)/.exec(engines)![1]));
  });

  for (const name of ['cpu', 'gpu']) {
    describe(`--target ${name}`, () => {
      const target = named(name);

      it('runs as the numeric non-root user 10001 (runAsUser in the rendered pods)', () => {
        const user = last(target, 'USER');
        expect(user, 'a USER in the stage').toBeDefined();
        expect(user!.args).toMatch(/^10001(:\d+)?$/);
        expect(user!.args.split(':')[1] ?? '10001').not.toBe('0');
        // USER comes after every RUN, so nothing runs as root once it is set and nothing after it needs root.
        const userIdx = target.body.indexOf(user!);
        expect(target.body.slice(userIdx + 1).filter((i) => i.op === 'RUN')).toEqual([]);
        expect(runs(target).join('\n')).toMatch(/useradd[^\n]*--uid 10001/);
      });

      it('has ENTRYPOINT ["batchscore"] with batchscore on PATH, as the rendered containers call it', () => {
        const ep = last(target, 'ENTRYPOINT');
        expect(ep).toBeDefined();
        expect(jsonForm(ep!.args)).toEqual(['batchscore']);
        const link = /ln -s (\S+) \/usr\/local\/bin\/batchscore\b/.exec(runs(target).join('\n'));
        expect(link, 'a /usr/local/bin/batchscore link').not.toBeNull();
        expect(last(target, 'WORKDIR')!.args).toBe('/opt/batchscore');
        // The link's target is the CLI's bin script, the one packages/cli/package.json declares.
        const rel = link![1]!.replace(/^\/opt\/batchscore\//, '');
        expect(existsSync(REPO + rel), rel).toBe(true);
        const bin = JSON.parse(read('packages/cli/package.json')).bin.batchscore as string;
        expect(rel).toBe(`packages/cli/${bin.replace(/^\.\//, '')}`);
      });

      it('sets NODE_ENV=production', () => {
        expect(target.body.some((i) => i.op === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
      });
    });
  }

  it(
    "gpu: installs onnxruntime-node's CUDA 12 provider in its own stage, despite package.json's " +
      "allowScripts deny, beside onnxruntime's library",
    () => {
      // Why the explicit step is needed: installs elsewhere skip the script that fetches the provider.
      expect(JSON.parse(read('package.json')).allowScripts).toEqual({ esbuild: true, 'onnxruntime-node': false });
      expect(existsSync(REPO + '.npmrc')).toBe(false); // the old `onnxruntime-node-install=skip` made npm warn
      const ci = runs(deps).find((r) => /\bnpm ci\b/.test(r));
      expect(ci, 'npm ci in deps').toBeDefined();
      // npm ci cannot run the root `prepare` (tsc -b) before the sources are there.
      expect(ci).toMatch(/--ignore-scripts/);
      const step = runs(cudaProvider).find((r) => /ONNXRUNTIME_NODE_INSTALL=cuda12\b/.test(r));
      expect(step, 'ONNXRUNTIME_NODE_INSTALL=cuda12 in cuda-provider').toBeDefined();
      // Run with plain node, which no allowScripts policy gates; the script reads ONNXRUNTIME_NODE_INSTALL first.
      expect(step).toMatch(/\bnode node_modules\/onnxruntime-node\/script\/install\.js\b/);
      expect(existsSync(REPO + 'node_modules/onnxruntime-node/script/install.js')).toBe(true);
      expect(step).toMatch(/test -f \S*libonnxruntime_providers_cuda\.so/);
      // The provider's files go where onnxruntime's CPU library is, which is where onnxruntime looks for them.
      const copy = gpu.body.filter((i) => i.op === 'COPY' && copyFrom(i) === 'cuda-provider').map((i) => i.args);
      expect(copy).toEqual([
        `--from=cuda-provider /opt/batchscore/${ORT_LINUX_X64}/libonnxruntime_providers_*.so ` +
          `/opt/batchscore/${ORT_LINUX_X64}/`,
      ]);
      expect(existsSync(`${REPO}${ORT_LINUX_X64}/libonnxruntime.so.1`), 'onnxruntime’s library in that folder').toBe(
        true,
      );
      // The gpu stage checks that the provider's CUDA/cuDNN libraries resolve.
      expect(runs(gpu).join('\n')).toMatch(/ldd \S*libonnxruntime_providers_cuda\.so/);
    },
  );

  it(
    'copies every workspace manifest and the lockfile before npm ci, sources only in ' +
      'the build stage (layer caching)',
    () => {
      const sources = (args: string) =>
        args
          .split(' ')
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1);
      const ciAt = deps.body.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
      const copiedBefore = deps.body
        .slice(0, ciAt)
        .filter((i) => i.op === 'COPY')
        .flatMap((i) => sources(i.args));
      for (const f of ['package.json', 'package-lock.json']) expect(copiedBefore).toContain(f);
      for (const ws of JSON.parse(read('package.json')).workspaces as string[])
        expect(copiedBefore).toContain(`${ws}/package.json`);
      // Nothing else in deps (or cuda-provider) comes from the context: a source edit does not redo npm ci or the
      // CUDA download.
      expect(deps.body.slice(ciAt + 1).filter((i) => i.op === 'COPY')).toEqual([]);
      expect(cudaProvider.body.filter((i) => i.op === 'COPY')).toEqual([]);
      expect(copiedBefore.some((s) => s === 'packages' || s === '.')).toBe(false);
      const after = build.body.filter((i) => i.op === 'COPY').flatMap((i) => sources(i.args));
      expect(after).toEqual(expect.arrayContaining(['tsconfig*.json', 'packages', 'models']));
      // Every path copied from the build context exists in the repository.
      for (const s of [...copiedBefore, ...after]) {
        if (!s.includes('*')) expect(existsSync(REPO + s), s).toBe(true);
      }
      const buildRuns = runs(build).join('\n');
      expect(buildRuns).toMatch(/npm run build/);
      expect(buildRuns).toMatch(/npm prune --omit=dev/);
    },
  );

  it("its header builds each target under DEFAULT_IMAGES' tag (packages/core/src/images.ts)", () => {
    const tags = Object.fromEntries(
      [...dockerfile.matchAll(/^#\s+docker build -f Dockerfile\.worker --target (\S+) -t (\S+) \.$/gm)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    expect(tags).toEqual({ cpu: DEFAULT_IMAGES.cpu, gpu: DEFAULT_IMAGES.gpu });
  });

  it('.dockerignore keeps local installs, builds and git out of the context', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['**/node_modules', '**/dist', '**/*.tsbuildinfo', '.git', '.demo']) expect(ignore).toContain(p);
    // Nothing the Dockerfile copies from the context is ignored.
    for (const p of ['package.json', 'package-lock.json', 'packages', 'models', 'scripts', 'scripts/bundle.mjs'])
      expect(ignore).not.toContain(p);
    // Test files are not built into the image, and the image tools and pod runner are not part of it.
    for (const p of ['**/*.test.ts', 'scripts/cluster', 'scripts/image']) expect(ignore).toContain(p);
  });
});
