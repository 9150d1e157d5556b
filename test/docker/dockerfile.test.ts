// Static checks of Dockerfile.worker. No Docker engine runs where these tests run, so the image is never built
// here: this parses the Dockerfile's instructions and checks what the cluster depends on (CUDA 12 + cuDNN 9
// runtime, numeric non-root user 10001, `batchscore` on PATH as the entrypoint, the CUDA provider fetched at
// build time, one Node major in both stages) and that the file keeps up with the repository's layout.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(REPO + rel, 'utf8');

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  image: string;
  name?: string;
  body: Instruction[];
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line) || line.trim() === '') return; // Docker drops both, even inside a continuation
    if (buf === '') start = i + 1;
    if (/\\\s*$/.test(line)) {
      buf += line.replace(/\\\s*$/, ' ');
      return;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(buf)}`);
    out.push({ op: m[1].toUpperCase(), args: m[2].replace(/\s+/g, ' ').trim(), line: start });
    buf = '';
  });
  if (buf !== '') throw new Error('Dockerfile ends inside a line continuation');
  return out;
}

function stages(instructions: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot parse FROM ${ins.args}`);
      out.push({ image: m[1], name: m[2]?.toLowerCase(), body: [] });
    } else if (ins.op !== 'ARG' || out.length > 0) {
      if (out.length === 0) throw new Error(`line ${ins.line}: ${ins.op} before the first FROM`);
      out[out.length - 1].body.push(ins);
    }
  }
  return out;
}

const jsonForm = (args: string): unknown => JSON.parse(args);
const nodeMajorOfImage = (image: string) => /^node:(\d+)(?:[.-]|$)/.exec(image)?.[1];

const dockerfile = read('Dockerfile.worker');
const all = parseDockerfile(dockerfile);
const st = stages(all);
const final = st[st.length - 1];
const build = st.find((s) => s.name === 'build');
const runs = (s: Stage) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args);
const last = (s: Stage, op: string) => [...s.body].reverse().find((i) => i.op === op);

describe('Dockerfile.worker', () => {
  it('has a build stage on an official Node image and a separate runtime stage', () => {
    expect(st.length).toBeGreaterThanOrEqual(2);
    expect(build, 'a stage named "build"').toBeDefined();
    expect(nodeMajorOfImage(build!.image), build!.image).toBeDefined();
    expect(final).not.toBe(build);
  });

  it('runs on a CUDA 12 runtime image with cuDNN 9 (not a devel image, not cuDNN 8)', () => {
    // nvidia/cuda tags: 12.8.1-cudnn-runtime-ubuntu24.04 (cuDNN 9 since CUDA 12.3), or 12.x.y-cudnn9-runtime-...
    const m = /^nvidia\/cuda:12\.(\d+)\.\d+-cudnn(9)?-runtime-ubuntu\d+\.\d+$/.exec(final.image);
    expect(m, final.image).not.toBeNull();
    expect(Number(m![1]), 'CUDA 12.3+ images carry cuDNN 9').toBeGreaterThanOrEqual(3);
  });

  it('builds and runs with the same Node major, one that package.json engines allows', () => {
    const buildMajor = Number(nodeMajorOfImage(build!.image));
    // The runtime's node is either copied from a stage or installed from NodeSource's setup_NN.x.
    const copy = final.body.find((i) => i.op === 'COPY' && /\/bin\/node\s+\S+$/.test(i.args));
    let runtimeMajor: number | undefined;
    if (copy) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1]?.toLowerCase();
      const source = st.find((s) => s.name === from) ?? (from ? { image: from } : undefined);
      runtimeMajor = Number(nodeMajorOfImage(source?.image ?? ''));
    } else {
      runtimeMajor = Number(/setup_(\d+)\.x/.exec(runs(final).join('\n'))?.[1]);
    }
    expect(runtimeMajor, 'the runtime stage gets node from the build stage or NodeSource').toBe(buildMajor);
    const engines = JSON.parse(read('package.json')).engines.node as string;
    expect(buildMajor).toBeGreaterThanOrEqual(Number(/>=\s*(\d+)/.exec(engines)![1]));
  });

  it('runs as the numeric non-root user 10001 (runAsUser in the rendered pods)', () => {
    const user = last(final, 'USER');
    expect(user, 'a USER in the final stage').toBeDefined();
    expect(user!.args).toMatch(/^10001(:\d+)?$/);
    expect(user!.args.split(':')[1] ?? '10001').not.toBe('0');
    // USER comes after every RUN, so nothing runs as root once it is set and nothing after it needs root.
    const userIdx = final.body.indexOf(user!);
    expect(final.body.slice(userIdx + 1).filter((i) => i.op === 'RUN')).toEqual([]);
    expect(runs(final).join('\n')).toMatch(/useradd[^\n]*--uid 10001/);
  });

  it('has ENTRYPOINT ["batchscore"] with batchscore on PATH, as the rendered containers call it', () => {
    const ep = last(final, 'ENTRYPOINT');
    expect(ep).toBeDefined();
    expect(jsonForm(ep!.args)).toEqual(['batchscore']);
    const link = /ln -s (\S+) \/usr\/local\/bin\/batchscore\b/.exec(runs(final).join('\n'));
    expect(link, 'a /usr/local/bin/batchscore link').not.toBeNull();
    const workdir = last(final, 'WORKDIR')!.args;
    expect(workdir).toBe('/opt/batchscore');
    // The link's target is the CLI's bin script, the one packages/cli/package.json declares.
    const rel = link![1].replace(/^\/opt\/batchscore\//, '');
    expect(existsSync(REPO + rel), rel).toBe(true);
    const bin = JSON.parse(read('packages/cli/package.json')).bin.batchscore as string;
    expect(rel).toBe(`packages/cli/${bin.replace(/^\.\//, '')}`);
  });

  it('sets NODE_ENV=production in the runtime stage', () => {
    expect(final.body.some((i) => i.op === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
  });

  it("installs onnxruntime-node's CUDA 12 provider in the build stage, despite package.json's allowScripts deny", () => {
    // Why the explicit step is needed: installs elsewhere skip the script that fetches the provider.
    expect(JSON.parse(read('package.json')).allowScripts).toEqual({ esbuild: true, 'onnxruntime-node': false });
    expect(existsSync(REPO + '.npmrc')).toBe(false); // the old `onnxruntime-node-install=skip` made npm warn
    const b = runs(build!);
    const ciIdx = b.findIndex((r) => /\bnpm ci\b/.test(r));
    const cudaIdx = b.findIndex((r) => /ONNXRUNTIME_NODE_INSTALL=cuda12\b/.test(r));
    expect(ciIdx, 'npm ci').toBeGreaterThanOrEqual(0);
    expect(cudaIdx, 'ONNXRUNTIME_NODE_INSTALL=cuda12').toBeGreaterThan(ciIdx);
    const step = b[cudaIdx];
    // Run with plain node, which no allowScripts policy gates; the script reads ONNXRUNTIME_NODE_INSTALL first.
    expect(step).toMatch(/\bnode node_modules\/onnxruntime-node\/script\/install\.js\b/);
    expect(existsSync(REPO + 'node_modules/onnxruntime-node/script/install.js')).toBe(true);
    expect(step).toMatch(/test -f \S*libonnxruntime_providers_cuda\.so/);
    // npm ci cannot run the root `prepare` (tsc -b) before the sources are there.
    expect(b[ciIdx]).toMatch(/--ignore-scripts/);
    // The runtime stage checks that the provider's CUDA/cuDNN libraries resolve.
    expect(runs(final).join('\n')).toMatch(/ldd \S*libonnxruntime_providers_cuda\.so/);
  });

  it('copies every workspace manifest and the lockfile before npm ci, sources after (layer caching)', () => {
    const b = build!.body;
    const ciAt = b.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    const before = b.slice(0, ciAt).filter((i) => i.op === 'COPY').map((i) => i.args);
    const sources = (args: string) => args.split(' ').filter((a) => !a.startsWith('--')).slice(0, -1);
    const copiedBefore = before.flatMap(sources);
    for (const f of ['package.json', 'package-lock.json']) expect(copiedBefore).toContain(f);
    for (const ws of JSON.parse(read('package.json')).workspaces as string[]) expect(copiedBefore).toContain(`${ws}/package.json`);
    expect(copiedBefore.some((s) => s === 'packages' || s === '.')).toBe(false);
    const after = b.slice(ciAt + 1).filter((i) => i.op === 'COPY').flatMap((i) => sources(i.args));
    expect(after).toEqual(expect.arrayContaining(['tsconfig*.json', 'packages', 'models']));
    // Every path copied from the build context exists in the repository.
    for (const s of [...copiedBefore, ...after]) {
      if (!s.includes('*')) expect(existsSync(REPO + s), s).toBe(true);
    }
    const laterRuns = runs(build!).slice(runs(build!).findIndex((r) => /\bnpm ci\b/.test(r)) + 1).join('\n');
    expect(laterRuns).toMatch(/npm run build/);
    expect(laterRuns).toMatch(/npm prune --omit=dev/);
  });

  it('.dockerignore keeps local installs, builds and git out of the context', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const p of ['**/node_modules', '**/dist', '**/*.tsbuildinfo', '.git', '.demo']) expect(ignore).toContain(p);
    // Nothing the Dockerfile copies from the context is ignored.
    for (const p of ['package.json', 'package-lock.json', 'packages', 'models', 'scripts']) expect(ignore).not.toContain(p);
  });
});
