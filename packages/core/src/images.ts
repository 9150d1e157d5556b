import { BATCHSCORE_VERSION } from './version.js';

/**
 * The worker images Dockerfile.worker builds (`--target cpu`, `--target gpu`), as published. A CPU-only job gets
 * the cpu image: no CUDA runtime to pull onto every node; a GPU job gets the gpu one, with onnxruntime's CUDA
 * provider. test/docker/dockerfile.test.ts checks these are the tags the Dockerfile's header builds.
 */
export const DEFAULT_IMAGES = {
  cpu: `ghcr.io/batchscore/batchscore-worker:${BATCHSCORE_VERSION}-cpu`,
  gpu: `ghcr.io/batchscore/batchscore-worker:${BATCHSCORE_VERSION}-gpu`,
} as const;

/**
 * The environment variable through which the renderer tells each pod the image its container runs (Kubernetes
 * offers no downward API field for it); a score pod records it in its shard commits, and so the manifest.
 */
export const IMAGE_ENV = 'BATCHSCORE_IMAGE';

/** Pure: the default image of a job's pods, from spec.cluster.gpusPerWorker (a count: an integer ≥ 0). */
export function defaultImage(gpusPerWorker: number): string {
  if (!Number.isInteger(gpusPerWorker) || gpusPerWorker < 0)
    throw new RangeError(`gpusPerWorker must be an integer ≥ 0, got ${gpusPerWorker}`);
  return gpusPerWorker > 0 ? DEFAULT_IMAGES.gpu : DEFAULT_IMAGES.cpu;
}
