// What an image's files take, uncompressed: its whole root file system, and the parts that take the room.
import { lstat, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { buildahOk } from './buildah.js';

/** Bytes of the files under `dir` (apparent sizes; a file with several links counted once), 0 if it is absent. */
export async function treeBytes(dir: string, seen = new Set<string>()): Promise<number> {
  let st;
  try {
    st = await lstat(dir);
  } catch {
    return 0;
  }
  const key = `${st.dev}:${st.ino}`;
  if (seen.has(key)) return 0;
  seen.add(key);
  if (!st.isDirectory()) return st.size;
  let n = st.size;
  for (const e of await readdir(dir)) n += await treeBytes(path.join(dir, e), seen);
  return n;
}

export interface ImageSize {
  bytes: number;
  /** The largest parts, largest first; `rest of …` entries make the parts add up to bytes. */
  parts: { path: string; bytes: number }[];
}

/** Pure: the parts of a size report, largest first, empty ones left out. */
export function toParts(measured: { path: string; bytes: number }[]): { path: string; bytes: number }[] {
  return [...measured].filter((p) => p.bytes > 0).sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1));
}

/**
 * Measures `tag`'s files in a throwaway working container. The parts: Node, npm, the app's node_modules package by
 * package (the `top` largest), the rest of the app, and the rest of the image (Debian).
 */
export async function measureImage(tag: string, top = 8): Promise<ImageSize> {
  const name = `bs-size-${process.pid}-${Date.now()}`;
  await buildahOk(['from', '--pull=never', '--name', name, tag]);
  try {
    const root = (await buildahOk(['mount', name])).trim();
    const bytes = await treeBytes(root);
    const at = (rel: string) => treeBytes(path.join(root, rel));
    const app = 'opt/batchscore';
    const nm = `${app}/node_modules`;
    const packages: { path: string; bytes: number }[] = [];
    for (const e of await readdir(path.join(root, nm)).catch(() => [] as string[])) {
      if (e.startsWith('.')) continue;
      const names = e.startsWith('@') ? (await readdir(path.join(root, nm, e))).map((s) => `${e}/${s}`) : [e];
      for (const p of names) packages.push({ path: `/${nm}/${p}`, bytes: await at(`${nm}/${p}`) });
    }
    packages.sort((a, b) => b.bytes - a.bytes);
    const shown = packages.slice(0, top);
    const nmBytes = await at(nm);
    const appBytes = await at(app);
    const node = await at('usr/local/bin/node');
    const npm = await at('usr/local/lib/node_modules');
    const parts = toParts([
      { path: '/usr/local/bin/node', bytes: node },
      { path: '/usr/local/lib/node_modules (npm)', bytes: npm },
      ...shown,
      {
        path: `/${nm}: the other ${packages.length - shown.length} packages`,
        bytes: nmBytes - shown.reduce((n, p) => n + p.bytes, 0),
      },
      { path: `/${app} without node_modules`, bytes: appBytes - nmBytes },
      { path: 'the rest (Debian)', bytes: bytes - appBytes - node - npm },
    ]);
    return { bytes, parts };
  } finally {
    await buildahOk(['rm', name]).catch(() => undefined);
  }
}
