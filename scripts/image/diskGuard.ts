// Before a build: enough free disk under buildah's storage, or the layers of earlier builds removed first, or no
// build. Under vfs every step of every stage is a whole copy of a root file system, twice while the build runs:
// `buildah bud --layers` commits each step as an image and keeps each step's working container (another whole copy)
// until the build ends. Measured here for the cpu target, storage sampled every 20 s: a build with no layer cache
// (the bases there) grew it from 1 GB to 28 GB, leaving 13 GB of images; a build whose sources changed, `npm ci`
// from cache and the earlier build's layers still there, from 13 GB to 40 GB: about 27.5 GB more at the peak
// either way, cached steps making working containers too. A disk that fills midway fails the build and everything
// else writing to that disk (a CI machine's tests), so a build that may not fit, with room to spare for them, does
// not start.
import { statfs } from 'node:fs/promises';
import { buildahOk } from './buildah.js';

/** Free space a build asks for by default: a cpu build took 27.5 GB more here at its peak, plus 7.5 GB to spare. */
export const DEFAULT_MIN_FREE_BYTES = 35e9;
/** Overrides DEFAULT_MIN_FREE_BYTES, in GB (10^9 bytes). */
export const MIN_FREE_ENV = 'BATCHSCORE_IMAGE_MIN_FREE_GB';

export class DiskSpaceError extends Error {}

/** Pure: the free space a build needs, from the environment (BATCHSCORE_IMAGE_MIN_FREE_GB) or the default. */
export function minFreeBytes(env: NodeJS.ProcessEnv): number {
  const v = env[MIN_FREE_ENV];
  if (v === undefined || v === '') return DEFAULT_MIN_FREE_BYTES;
  const gb = Number(v);
  if (!Number.isFinite(gb) || gb < 0)
    throw new DiskSpaceError(`${MIN_FREE_ENV}=${JSON.stringify(v)}: must be a number of GB, 0 or more`);
  return gb * 1e9;
}

/**
 * Pure: what to do before a build with `free` bytes free of the `need` it asks for: build; remove the layers of
 * earlier builds first when that may free enough (the build then goes without their cache); or stop.
 */
export function diskDecision(free: number, need: number, canFreeLayers: boolean): 'build' | 'free-layers' | 'stop' {
  if (free >= need) return 'build';
  return canFreeLayers ? 'free-layers' : 'stop';
}

/** Where buildah keeps images (its storage's graph root). */
export async function storageRoot(): Promise<string> {
  const info = JSON.parse(await buildahOk(['info'])) as { store?: { GraphRoot?: string } };
  return info.store?.GraphRoot || '/var/lib/containers/storage';
}

/** Free bytes, to an unprivileged writer, of the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;

/**
 * Checks the disk before a build; where it is short, removes the layers of earlier builds (`freeLayers`, unless the
 * caller keeps them) and checks again. Throws DiskSpaceError when it is still short: nothing was built.
 */
export async function ensureDisk(o: {
  need: number;
  freeLayers?: () => Promise<number>;
  say: (m: string) => void;
  free?: () => Promise<number>;
}): Promise<void> {
  const free = o.free ?? (async () => freeBytes(await storageRoot()));
  const before = await free();
  const first = diskDecision(before, o.need, o.freeLayers !== undefined);
  if (first === 'build') return;
  let after = before;
  if (first === 'free-layers') {
    o.say(
      `${gb(before)} free under buildah's storage, less than the ${gb(o.need)} a build may take: removing the ` +
        `layers of earlier builds first (this build goes without their cache)`,
    );
    const removed = await o.freeLayers!();
    after = await free();
    o.say(`removed ${removed} image(s): ${gb(after)} free`);
    if (after >= o.need) return;
  }
  throw new DiskSpaceError(
    `${gb(after)} free under buildah's storage, less than the ${gb(o.need)} a build may take (${MIN_FREE_ENV}): ` +
      `nothing was built. Free disk (buildah --storage-driver vfs rmi --prune removes images no tag needs), or set ` +
      `${MIN_FREE_ENV} lower where the layer cache makes the build smaller`,
  );
}
