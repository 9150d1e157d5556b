import { BatchscoreError } from '@batchscore/core';

/**
 * Pure: checks one model run's output against the rows it was given, and throws MODEL_INVALID naming the output and
 * its shape when they differ. Why every run: onnxruntime returns whatever shape the graph computes, whatever the
 * model declares (it only logs the difference), so an exporter that hard-codes a batch of 1 would leave all but one
 * row's values at zero, and a rank-3 output would overrun the gathering buffer. `declared` is the model's declared
 * shape (its rank is the rank the binding expects); `width` the values per row of this output's earlier runs.
 */
export function checkOutputShape(
  name: string,
  dims: readonly number[],
  declared: readonly (number | string)[] | undefined,
  runRows: number,
  width: number | undefined,
  where: string,
): void {
  // A model that declares no shape for it (rank 0 in its metadata) is held to the ranks batchscore reads.
  if (declared?.length === 0) declared = undefined;
  const rank = declared?.length ?? (dims.length === 1 ? 1 : 2);
  const w = rank === 1 ? 1 : dims[1];
  const declaredWidth = rank === 2 && typeof declared?.[1] === 'number' ? declared[1] : undefined;
  const ok =
    dims.length === rank &&
    rank <= 2 &&
    dims[0] === runRows &&
    (declaredWidth === undefined || w === declaredWidth) &&
    (width === undefined || w === width);
  if (ok) return;
  const expectedWidth = declaredWidth ?? width ?? declared?.[1] ?? 'k';
  const expected = rank === 1 ? `[${runRows}]` : `[${runRows}, ${expectedWidth}]`;
  const earlier =
    width !== undefined && declaredWidth === undefined ? `, and its earlier runs had ${width} values per row` : '';
  const declares = declared ? `the model declares [${declared.join(', ')}]` : "the model's metadata gives no shape";
  throw new BatchscoreError(
    'MODEL_INVALID',
    `${where}: model output "${name}" has shape [${dims.join(', ')}] for a run of ${runRows} rows; ` +
      `expected ${expected} (${declares}${earlier})`,
  );
}
