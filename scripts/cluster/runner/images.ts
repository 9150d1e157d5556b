// The images containers run from, in image mode: buildah's local storage (scripts/image/buildah.ts), where
// `npm run image:build` puts the worker image and cluster.mjs the Argo executor's. No registry is reached: an image
// that is not stored cannot be pulled, and its containers wait (ErrImagePull), as on a node with no way to pull it.
// Each image is opened once per runner, as a buildah working container mounted read-only below the overlay of
// every container that runs it; cluster.mjs `down` removes those working containers once the runner is gone.
import { createHash } from 'node:crypto';
import { buildah, buildahOk, inspectImage, type ImageConfig } from '../../image/buildah.js';

export interface OpenImage {
  /** The image the pod names. */
  ref: string;
  /** The image whose files it runs: `ref`, or what `aliases` maps it to. */
  ranAs: string;
  /** The image's root file system (never written). */
  root: string;
  config: ImageConfig;
}

/** The image is not in local storage, and nothing will pull it. */
export class ImageMissingError extends Error {
  constructor(readonly ref: string) {
    super(
      `image ${ref} is not in buildah's local storage (buildah --storage-driver vfs images) and this cluster pulls ` +
        `nothing: build it (npm run image:build) or run the cluster with --pods-from checkout`,
    );
  }
}

/** Pure: the name of the working container through which a runner (by its state folder) sees an image. */
export function workingContainerName(prefix: string, ref: string): string {
  return `${prefix}-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}`;
}

/** Pure: the prefix of a runner's working containers. */
export function containerPrefix(stateDir: string): string {
  return `bs-podrunner-${createHash('sha256').update(stateDir).digest('hex').slice(0, 10)}`;
}

export class ImageStore {
  /**
   * Keyed by the image run (after aliases), not the one named: a pod naming the gpu image and one naming the cpu
   * image it runs from share one working container. Keyed by the name, the second to open would remove the first's
   * (same container name) while its root was still in use.
   */
  private readonly open = new Map<string, Promise<Omit<OpenImage, 'ref'>>>();

  constructor(
    private readonly prefix: string,
    private readonly aliases: Record<string, string>,
  ) {}

  /** The image `ref` names (or its alias), opened once; ImageMissingError where storage has neither. */
  async get(ref: string): Promise<OpenImage> {
    const ranAs = this.aliases[ref] ?? ref;
    let p = this.open.get(ranAs);
    if (!p) {
      p = this.openImage(ranAs);
      this.open.set(ranAs, p);
      // A missing image may be built meanwhile: ask storage again next time.
      p.catch(() => this.open.delete(ranAs));
    }
    return { ref, ...(await p) };
  }

  private async openImage(ranAs: string): Promise<Omit<OpenImage, 'ref'>> {
    const config = await inspectImage(ranAs);
    if (!config) throw new ImageMissingError(ranAs);
    const name = workingContainerName(this.prefix, ranAs);
    await buildah(['rm', name]); // one left by an earlier runner with this state folder, if any
    await buildahOk(['from', '--pull=never', '--name', name, config.id]);
    const root = (await buildahOk(['mount', name])).trim();
    return { ranAs, root, config };
  }
}

/** Removes every working container of runners with this prefix (cluster.mjs `down`); returns their names. */
export async function removeWorkingContainers(prefix: string): Promise<string[]> {
  const r = await buildah(['containers', '--json']);
  if (r.code !== 0) return [];
  const names = ((JSON.parse(r.stdout || '[]') as { containername: string }[]) ?? [])
    .map((c) => c.containername)
    .filter((n) => n.startsWith(`${prefix}-`));
  for (const n of names) await buildah(['rm', n]);
  return names;
}
