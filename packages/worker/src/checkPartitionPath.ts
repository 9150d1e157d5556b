import { BatchscoreError, escapePartitionName } from '@batchscore/core';

/**
 * Longest folder name a partition value may make: 255 bytes is the limit of ext4, xfs, APFS and NTFS names (and
 * so of a local output); S3 keys have no per-segment limit but 1024 bytes in all, which the store reports.
 */
export const MAX_PARTITION_FOLDER_BYTES = 255;

/**
 * Pure: refuses a partition path (`col=value/…`, from partitionPath) with a folder name longer than a file
 * system allows, naming the column, the value and the rule, before anything is written: the write would fail
 * later, and less clearly (ENAMETOOLONG), with part of the shard staged.
 */
export function checkPartitionPath(partitionBy: string[], values: readonly (string | null)[], partition: string): void {
  const folders = partition.split('/').slice(0, partitionBy.length);
  folders.forEach((folder, i) => {
    const bytes = Buffer.byteLength(folder);
    if (bytes <= MAX_PARTITION_FOLDER_BYTES) return;
    const value = values[i] ?? '';
    const name = escapePartitionName(String(partitionBy[i]));
    const cut = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);
    throw new BatchscoreError(
      'INPUT_INVALID',
      `spec.output.partitionBy column ${JSON.stringify(partitionBy[i])}: value ${JSON.stringify(cut(value))} ` +
        `(${Buffer.byteLength(value)} bytes) makes the folder name ${name}=${cut(folder.slice(name.length + 1))} ` +
        `${bytes} bytes long; a folder name may be at most ${MAX_PARTITION_FOLDER_BYTES} ` +
        `bytes`,
    );
  });
}
