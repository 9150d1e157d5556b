import { BatchscoreError, psi, toYaml, type BatchManifest } from '@batchscore/core';
import { defineCommand, parseCommand } from '../command.js';
import { outputFormat, outputOption } from '../outputFormat.js';
import { locateRun } from '../locateRun.js';
import { sparkline } from '../formatRun.js';

export const COMPARE = defineCommand({
  name: 'compare',
  summary: "Measures drift between two complete runs: each prediction's PSI and each feature's mean.",
  usage: ['RUN_A RUN_B [--threshold X] [--fail-on-drift] [-o json|yaml]'],
  description: `Compares two complete runs (run folders or manifests): each prediction column's population stability
index of B against A's histogram, and the shift of each feature's mean.`,
  options: {
    threshold: { type: 'string', value: 'X', help: 'The PSI above which a prediction column drifted (default 0.2).' },
    'fail-on-drift': { type: 'boolean', help: 'Exit 65 (QUALITY_DRIFT) when a PSI is above the threshold.' },
    ...outputOption(['json', 'yaml'], 'Print the comparison as a record.'),
  },
});

export interface Comparison {
  a: { run_id: string; batch_date: string };
  b: { run_id: string; batch_date: string };
  threshold: number;
  drift: boolean;
  predictions: Record<string, { psi: number; mean_a: number | null; mean_b: number | null; drift: boolean }>;
  features: Record<string, { mean_a: number | null; mean_b: number | null; nulls_a: number; nulls_b: number }>;
}

/** Pure: B against A (A is the baseline). */
export function toComparison(a: BatchManifest, b: BatchManifest, threshold: number): Comparison {
  const qa = a.quality;
  const qb = b.quality;
  if (!qa || !qb)
    throw new BatchscoreError(
      'INPUT_INVALID',
      `${!qa ? a.run_id : b.run_id}: the manifest has no quality section (written by an older batchscore)`,
    );
  const predictions: Comparison['predictions'] = {};
  for (const [k, pb] of Object.entries(qb.predictions)) {
    const pa = qa.predictions[k];
    if (!pa) continue;
    const v = psi(pa.histogram, pb.sketch);
    predictions[k] = { psi: v, mean_a: pa.mean, mean_b: pb.mean, drift: v > threshold };
  }
  const features: Comparison['features'] = {};
  for (const [k, fb] of Object.entries(qb.features)) {
    const fa = qa.features[k];
    if (fa) features[k] = { mean_a: fa.mean, mean_b: fb.mean, nulls_a: fa.nulls, nulls_b: fb.nulls };
  }
  return {
    a: { run_id: a.run_id, batch_date: a.batch_date },
    b: { run_id: b.run_id, batch_date: b.batch_date },
    threshold,
    drift: Object.values(predictions).some((p) => p.drift),
    predictions,
    features,
  };
}

export async function compareCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(COMPARE, argv);
  if (positionals.length !== 2) throw new BatchscoreError('USAGE', 'expected two runs');
  const threshold = values.threshold === undefined ? 0.2 : Number(values.threshold);
  if (!Number.isFinite(threshold) || threshold < 0)
    throw new BatchscoreError('USAGE', `--threshold ${JSON.stringify(values.threshold)}: expected a number ≥ 0`);
  const format = outputFormat(values.output, ['json', 'yaml']);
  const runs = await Promise.all(positionals.map((p) => locateRun(p, {})));
  const [a, b] = runs.map((r, i) => {
    if (r.kind !== 'complete')
      throw new BatchscoreError(
        'INPUT_INVALID',
        `${positionals[i]}: the run failed (${r.uri}); only complete runs can be compared`,
      );
    return r.manifest;
  }) as [BatchManifest, BatchManifest];
  const c = toComparison(a, b, threshold);
  if (format === 'json') process.stdout.write(JSON.stringify(c, null, 2) + '\n');
  else if (format === 'yaml') process.stdout.write(toYaml([c]));
  else {
    const L = [
      `${b.job}: ${b.batch_date} (${b.run_id}) against ${a.batch_date} (${a.run_id}): ` +
        `${c.drift ? 'DRIFT' : 'no drift'} (PSI threshold ${threshold})`,
    ];
    for (const [k, p] of Object.entries(c.predictions)) {
      L.push(`  ${k}  PSI ${p.psi.toFixed(4)}${p.drift ? '  DRIFT' : ''}  mean ${p.mean_a} → ${p.mean_b}`);
      L.push(`    A |${sparkline(a.quality!.predictions[k]!.histogram)}|`);
      L.push(`    B |${sparkline(b.quality!.predictions[k]!.histogram)}|`);
    }
    for (const [k, f] of Object.entries(c.features))
      L.push(`  ${k.padEnd(16)} mean ${f.mean_a} → ${f.mean_b}  nulls ${f.nulls_a} → ${f.nulls_b}`);
    process.stdout.write(L.join('\n') + '\n');
  }
  if (values['fail-on-drift'] && c.drift) {
    throw new BatchscoreError(
      'QUALITY_DRIFT',
      `predictions of ${b.run_id} drifted from ${a.run_id}: ${Object.entries(c.predictions)
        .filter(([, p]) => p.drift)
        .map(([k, p]) => `${k} PSI ${p.psi.toFixed(3)}`)
        .join(', ')} > ${threshold}`,
    );
  }
}
