// What an image is built from, as one digest: the Dockerfile, the target, its base images (by id) and every file of
// the build context its COPY instructions can take (.dockerignore applied). A build whose digest is the one the
// tagged image was built from is skipped: buildah's own layer cache would come to the same image, but with vfs
// storage each cached step still copies a whole root file system, minutes for a build that changes nothing.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import * as path from 'node:path';
import { copyFrom, stagesFor, type Stage } from './parseDockerfile.js';

/** Pure: a .dockerignore as a predicate on context-relative paths (Docker's rules: `**`, `*`, `?`, `!` exceptions,
 * and a pattern that matches a folder matches everything in it). */
export function dockerignoreMatcher(text: string): (rel: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      const re = pattern
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '(?:.*)'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (rel) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(rel)) ignored = !r.negate;
    return ignored;
  };
}

/** Pure: the context paths the stages' COPY instructions (those not --from another stage) name as sources. */
export function copySources(stages: Stage[]): string[] {
  const out = new Set<string>();
  for (const s of stages) {
    for (const i of s.body) {
      if (i.op !== 'COPY' && i.op !== 'ADD') continue;
      if (copyFrom(i)) continue;
      const words = i.args.split(' ').filter((w) => !w.startsWith('--'));
      for (const src of words.slice(0, -1)) out.add(path.posix.normalize(src).replace(/\/+$/, ''));
    }
  }
  return [...out].sort();
}

async function* files(context: string, rel: string, ignored: (rel: string) => boolean): AsyncGenerator<string> {
  if (ignored(rel)) return;
  let st;
  try {
    st = await lstat(path.join(context, rel));
  } catch {
    return;
  }
  if (!st.isDirectory()) {
    yield rel;
    return;
  }
  for (const e of (await readdir(path.join(context, rel))).sort()) yield* files(context, `${rel}/${e}`, ignored);
}

/** The files a source names: itself (a file or a folder's files), or the files a `*` in its last part matches. */
async function* sourceFiles(context: string, src: string, ignored: (rel: string) => boolean) {
  const base = path.posix.basename(src);
  if (!/[*?]/.test(base)) {
    yield* files(context, src, ignored);
    return;
  }
  const dir = path.posix.dirname(src);
  const re = new RegExp(
    `^${base
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  for (const e of (await readdir(path.join(context, dir)).catch(() => [] as string[])).sort()) {
    if (re.test(e)) yield* files(context, dir === '.' ? e : `${dir}/${e}`, ignored);
  }
}

/** The digest of what `target` is built from (see the top); `bases` are its base images' ids. */
export async function contextDigest(o: {
  context: string;
  dockerfile: string;
  all: Stage[];
  target: string;
  bases: string[];
}): Promise<string> {
  const ignoreText = await readFile(path.join(o.context, '.dockerignore'), 'utf8').catch(() => '');
  const ignored = dockerignoreMatcher(ignoreText);
  const h = createHash('sha256');
  h.update(`target ${o.target}\n${o.dockerfile}\n.dockerignore\n${ignoreText}\n${o.bases.join('\n')}\n`);
  for (const src of copySources(stagesFor(o.all, o.target))) {
    for await (const rel of sourceFiles(o.context, src, ignored)) {
      const abs = path.join(o.context, rel);
      const st = await lstat(abs);
      const body = st.isSymbolicLink() ? `-> ${await readlink(abs)}` : (await readFile(abs)).toString('base64');
      h.update(`${rel} ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(body).digest('hex')}\n`);
    }
  }
  return h.digest('hex');
}
