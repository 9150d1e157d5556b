import type { InputFile, InputFormat, Shard, ShardPiece } from '@batchscore/core';

/**
 * Cuts the input into shards. Pure and deterministic: the same files give the same shards.
 * Parquet: whole row groups, in file order, closing a shard before it would pass rowsPerShard
 * (a single larger row group makes a shard of its own). CSV/JSONL: byte ranges of about bytesPerShard;
 * small files share a shard, large ones are split, and a line belongs to the range its first byte is in.
 */
export function planShards(
  files: InputFile[],
  format: InputFormat,
  opts: { rowsPerShard: number; bytesPerShard: number },
): Shard[] {
  return format === 'parquet' ? planRowGroups(files, opts.rowsPerShard) : planByteRanges(files, opts.bytesPerShard);
}

function planRowGroups(files: InputFile[], rowsPerShard: number): Shard[] {
  const shards: Shard[] = [];
  let pieces: ShardPiece[] = [];
  let rows = 0;
  const close = () => {
    if (pieces.length > 0) shards.push({ index: shards.length, pieces, rows });
    pieces = [];
    rows = 0;
  };
  files.forEach((f, fi) => {
    const groups = f.rowGroups ?? [];
    // With the file's layout known, each piece records the bytes its row groups span: a worker reads those and the
    // tail.
    const sizes = f.tailStart !== undefined ? f.rowGroupBytes : undefined;
    let at = 4;
    groups.forEach((n, gi) => {
      const span: [number, number] | undefined = sizes ? [at, (at += sizes[gi]!)] : undefined;
      if (n === 0) return;
      if (rows > 0 && rows + n > rowsPerShard) close();
      const last = pieces[pieces.length - 1];
      if (last && 'rowGroupEnd' in last && last.file === fi && last.rowGroupEnd === gi) {
        last.rowGroupEnd = gi + 1;
        last.rows += n;
        if (last.bytes && span) last.bytes[1] = span[1];
      } else {
        pieces.push({ file: fi, rowGroupStart: gi, rowGroupEnd: gi + 1, rows: n, ...(span ? { bytes: span } : {}) });
      }
      rows += n;
    });
  });
  close();
  return shards;
}

function planByteRanges(files: InputFile[], bytesPerShard: number): Shard[] {
  const shards: Shard[] = [];
  let pieces: ShardPiece[] = [];
  let bytes = 0;
  const close = () => {
    if (pieces.length > 0) shards.push({ index: shards.length, pieces, rows: null });
    pieces = [];
    bytes = 0;
  };
  files.forEach((f, fi) => {
    let start = 0;
    while (start < f.size) {
      const take = Math.min(f.size - start, bytesPerShard - bytes);
      pieces.push({ file: fi, byteStart: start, byteEnd: start + take });
      bytes += take;
      start += take;
      if (bytes >= bytesPerShard) close();
    }
  });
  close();
  return shards;
}
