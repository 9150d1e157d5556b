// Builds a target of Dockerfile.worker with buildah into local storage (scripts/image/buildah.ts), after making
// stand-ins for the base images that are not there (scripts/image/standIns.ts). Layers are cached (`--layers`): a
// build with the same package.json files and lockfile reuses the `npm ci` layer. A build with nothing changed at all
// (contextDigest.ts) is skipped. After a build, the layers of earlier ones are removed (pruneOldLayers).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { budImageIds, buildahOk, inspectImage, pruneOldLayers, sweepBuildContainers } from './buildah.js';
import { contextDigest } from './contextDigest.js';
import { DEFAULT_MIN_FREE_BYTES, ensureDisk } from './diskGuard.js';
import { fetchNodeDist, type NodeDist } from './nodeDist.js';
import { baseImage, parseDockerfile, stages, stagesFor, type Stage } from './parseDockerfile.js';
import { buildStandIn, dockerHubName, standInRecipe } from './standIns.js';

export interface BuildOptions {
  /** The repository: the build context, with Dockerfile.worker at its root. */
  context: string;
  target: string;
  tag: string;
  /** Where fetched Node and npm packages are kept between builds. */
  cacheDir?: string;
  /** Build every layer again (`--no-cache`); the stand-in bases stay. */
  noCache?: boolean;
  /** Make the stand-in bases again even where local storage has them. */
  rebuildBases?: boolean;
  /** Progress, for people. */
  say?: (msg: string) => void;
  /** buildah's own step-by-step output goes to this process's stderr. */
  verbose?: boolean;
  /** Keep the layers of earlier builds (by default they are removed once the image is built: see pruneOldLayers). */
  keepOldLayers?: boolean;
  /** Free disk a build asks for under buildah's storage (diskGuard.ts; default DEFAULT_MIN_FREE_BYTES). */
  minFreeBytes?: number;
}

export interface BuildResult {
  tag: string;
  id: string;
  /** Seconds per phase: each stand-in made, then `buildah bud`. */
  seconds: { standIns: Record<string, number>; build: number; total: number };
  /** Images of earlier builds removed after the build. */
  pruned: number;
  /** Nothing the image is built from changed since it was built: no build ran. */
  unchanged: boolean;
}

/**
 * What a target needs that this machine cannot make: a base image that is neither stored nor has a stand-in. Of
 * the target's other stages, `built` were built (a layer cache only: nothing is tagged) and `failed` could not be.
 */
export class BaseUnavailableError extends Error {
  constructor(
    readonly target: string,
    readonly missing: string[],
    readonly built: string[],
    readonly failed: { stage: string; reason: string }[],
  ) {
    super(
      `--target ${target}: base image ${missing.join(', ')} is not in local storage and cannot be made here ` +
        `(no registry can be reached, and only node:N-SUITE images have a stand-in)`,
    );
  }
}

/** Pure: the line of a failed build's output that says why (the last error line, else the last line). */
export function failureReason(output: string): string {
  const lines = output.trimEnd().split('\n');
  const error = [...lines]
    .reverse()
    .find((l) => /^(Error|error)\b|Error:/.test(l) && !/^Error: building at STEP/.test(l));
  return (error ?? lines[lines.length - 1] ?? '').trim();
}

export const defaultCacheDir = () =>
  path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'batchscore', 'image');

/** Pure: the base images (FROM references that are not stages) of the stages `target` is built from. */
export function baseImagesOf(all: Stage[], target: string): string[] {
  const order = stagesFor(all, target);
  if (!order.length) throw new Error(`Dockerfile.worker has no stage named ${JSON.stringify(target)}`);
  return [...new Set(order.map((s) => baseImage(all, s)))];
}

/**
 * Makes stand-ins for the bases `target` needs that storage lacks; returns seconds per stand-in, the ids of the
 * bases there, and the missing.
 */
async function ensureBases(
  bases: string[],
  o: BuildOptions,
): Promise<{ seconds: Record<string, number>; ids: string[]; missing: string[] }> {
  const say = o.say ?? (() => {});
  const seconds: Record<string, number> = {};
  const ids: string[] = [];
  const missing: string[] = [];
  let dist: NodeDist | undefined;
  for (const ref of bases) {
    const recipe = standInRecipe(ref);
    let stored = await inspectImage(dockerHubName(ref));
    if (!stored || (o.rebuildBases && recipe)) {
      if (!recipe) {
        missing.push(ref);
        continue;
      }
      dist ??= await fetchNodeDist(o.cacheDir ?? defaultCacheDir(), recipe.nodeMajor);
      seconds[ref] = await buildStandIn(recipe, dist, say);
      stored = await inspectImage(dockerHubName(ref));
      if (!stored) throw new Error(`${ref}: its stand-in was built, but local storage does not have it`);
    } else say(`${ref}: in local storage (${stored.id.slice(0, 12)})`);
    ids.push(stored.id);
  }
  return { seconds, ids, missing };
}

/** buildah bud of one target, with the layer cache; returns the ids of the images its steps made or reused. */
async function bud(o: BuildOptions, target: string, tag?: string): Promise<string[]> {
  const out = await buildahOk(
    [
      'bud',
      '--isolation',
      'chroot',
      // `npm ci` (and the gpu target's NuGet download) reach the registries through this machine's network.
      '--network',
      'host',
      '--layers',
      // A failed step's working container goes too (each is a whole root file system under vfs).
      '--force-rm',
      '--pull=never',
      ...(o.noCache ? ['--no-cache'] : []),
      '-f',
      'Dockerfile.worker',
      '--target',
      target,
      ...(tag ? ['-t', tag] : []),
      '.',
    ],
    { cwd: o.context, echo: o.verbose },
  );
  return budImageIds(out);
}

/** Where the digest each tag was last built from is kept (see contextDigest.ts). */
const builtFile = (o: BuildOptions) => path.join(o.cacheDir ?? defaultCacheDir(), 'built.json');

async function readBuilt(o: BuildOptions): Promise<Record<string, { id: string; inputs: string }>> {
  try {
    return JSON.parse(await readFile(builtFile(o), 'utf8'));
  } catch {
    return {};
  }
}

/**
 * Builds `target` under `tag`. Where a base the target needs cannot be had, builds what of it can be (the stages
 * whose bases are there, as their own targets) and throws BaseUnavailableError naming the rest.
 */
export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  const say = o.say ?? (() => {});
  const t0 = performance.now();
  const dockerfile = await readFile(path.join(o.context, 'Dockerfile.worker'), 'utf8');
  const all = stages(parseDockerfile(dockerfile));
  const swept = await sweepBuildContainers();
  if (swept.length) say(`removed ${swept.length} working container(s) an earlier build left: ${swept.join(', ')}`);
  const { seconds: standIns, ids: baseIds, missing } = await ensureBases(baseImagesOf(all, o.target), o);
  const tb = performance.now();
  if (missing.length) {
    // The stages of the target that need none of the missing bases, built as targets of their own; the leaves
    // (stages no other buildable one builds on) are enough, the rest come along.
    const order = stagesFor(all, o.target);
    const buildable = order.filter((s) => !missing.includes(baseImage(all, s))).map((s) => s.name ?? s.image);
    const needed = new Set(
      order
        .filter((s) => buildable.includes(s.name ?? ''))
        .flatMap((s) =>
          stagesFor(all, s.name!)
            .slice(0, -1)
            .map((p) => p.name),
        ),
    );
    const built: string[] = [];
    const failed: { stage: string; reason: string }[] = [];
    await checkDisk(o, baseIds);
    for (const leaf of buildable.filter((n) => !needed.has(n))) {
      say(`building stage ${leaf} of --target ${o.target} (its base is here) ...`);
      try {
        await bud(o, leaf);
        for (const s of stagesFor(all, leaf)) if (!built.includes(s.name!)) built.push(s.name!);
      } catch (err) {
        failed.push({ stage: leaf, reason: failureReason((err as Error).message) });
      }
    }
    throw new BaseUnavailableError(o.target, missing, built, failed);
  }
  const inputs = await contextDigest({ context: o.context, dockerfile, all, target: o.target, bases: baseIds });
  const record = await readBuilt(o);
  const current = await inspectImage(o.tag);
  const seconds = () => ({ standIns, build: (performance.now() - tb) / 1000, total: (performance.now() - t0) / 1000 });
  if (!o.noCache && current && record[o.tag]?.id === current.id && record[o.tag]?.inputs === inputs) {
    say(`${o.tag} (${current.id.slice(0, 12)}) is up to date: nothing it is built from changed`);
    return { tag: o.tag, id: current.id, seconds: seconds(), pruned: 0, unchanged: true };
  }
  await checkDisk(o, baseIds);
  say(`building --target ${o.target} as ${o.tag} (buildah bud, chroot isolation, vfs storage, layer cache) ...`);
  const made = await bud(o, o.target, o.tag);
  const built = await inspectImage(o.tag);
  if (!built) throw new Error(`buildah bud reported success, but ${o.tag} is not in local storage`);
  const took = seconds();
  await mkdir(path.dirname(builtFile(o)), { recursive: true });
  await writeFile(builtFile(o), JSON.stringify({ ...record, [o.tag]: { id: built.id, inputs } }, null, 2) + '\n');
  const pruned = o.keepOldLayers ? 0 : await pruneOldLayers([...made, ...baseIds, built.id]);
  if (pruned) say(`removed ${pruned} image(s) of earlier builds (their layers; this build's stay as its cache)`);
  return { tag: o.tag, id: built.id, seconds: took, pruned, unchanged: false };
}

/** Enough disk for a build, the layers of earlier builds removed first where short (unless kept); else throws. */
function checkDisk(o: BuildOptions, baseIds: string[]): Promise<void> {
  return ensureDisk({
    need: o.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES,
    say: o.say ?? (() => {}),
    ...(o.keepOldLayers ? {} : { freeLayers: () => pruneOldLayers(baseIds) }),
  });
}
