import type { Device } from '@batchscore/core';

/** Where the device came from, so that an error names what the operator would change. */
export type DeviceSource = '--device' | 'spec.worker.device' | '--default-device' | 'default';

/**
 * Pure: the device a worker's session asks for. `--device` (run --local hands its workers the device it found)
 * wins; then the job's spec.worker.device; then `--default-device`, which the renderer gives a GPU job's score
 * pods as `cuda`, so that a pod that cannot load CUDA fails instead of scoring on CPU while the GPU is billed;
 * then `auto`, what CPU-only jobs and `run --local` keep.
 */
export function resolveDevice(o: {
  flag?: Device | undefined;
  spec?: Device | undefined;
  defaultDevice?: Device | undefined;
}): { device: Device; source: DeviceSource } {
  if (o.flag !== undefined) return { device: o.flag, source: '--device' };
  if (o.spec !== undefined) return { device: o.spec, source: 'spec.worker.device' };
  if (o.defaultDevice !== undefined) return { device: o.defaultDevice, source: '--default-device' };
  return { device: 'auto', source: 'default' };
}
