// Module hooks that let this machine's Node run the TypeScript of scripts/ (the image build, the pod runner) as
// it is, with no build step: esbuild strips each .ts file's types as Node loads it (one file at a time, so every
// module keeps its own import.meta.url), and an import of `./x.js` finds `./x.ts`, as tsc's NodeNext resolution
// and vitest do. Types are checked separately: `npm run typecheck:scripts` (scripts/tsconfig.json).
// Registered by scripts/tsLoader.mjs: `node --import ./scripts/tsLoader.mjs scripts/image/build.ts`.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const fromTs = context.parentURL?.endsWith('.ts');
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !fromTs || !/^\.\.?\/.*\.js$/.test(specifier)) throw err;
    return next(specifier.replace(/\.js$/, '.ts'), context);
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcefile: file,
    sourcemap: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}
