import { BatchscoreError } from '../errors.js';

/**
 * An input file that is not the one the plan saw. Permanent: a retry of the shard reads the same new file against
 * the same plan, whose shards were cut from the old one; only a new plan helps, and a rerun of the run makes one
 * (shards already scored from the old file are then scored again).
 */
export function inputChanged(uri: string, detail: string): BatchscoreError {
  return new BatchscoreError(
    'INPUT_CHANGED',
    `${uri}: changed since planning (${detail}); its shards were cut from the file as it was, so none is read from ` +
      `the new one: run the job again to plan it anew`,
  );
}
