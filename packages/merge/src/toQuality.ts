import {
  mergeFeatureStats,
  mergeSketches,
  psi,
  toHistogram,
  type BatchManifest,
  type FeatureStats,
  type ManifestQuality,
  type ShardCommit,
  type Sketch,
  type QualitySpec,
} from '@batchscore/core';

const round = (v: number | null, digits = 6) => (v === null ? null : Number(v.toPrecision(digits)));

/**
 * Pure: the manifest's quality section. Shard statistics and sketches are added up; each prediction column gets a
 * 20-bucket histogram, and its population stability index against the baseline run's histogram when there is one.
 */
export function toQuality(commits: ShardCommit[], spec: QualitySpec, baseline?: BatchManifest): ManifestQuality {
  const features: Record<string, FeatureStats> = {};
  const sketches: Record<string, Sketch> = {};
  for (const c of commits) {
    for (const [k, s] of Object.entries(c.quality?.features ?? {}))
      features[k] = features[k] ? mergeFeatureStats(features[k]!, s) : s;
    for (const [k, s] of Object.entries(c.quality?.predictions ?? {}))
      sketches[k] = sketches[k] ? mergeSketches(sketches[k]!, s) : s;
  }
  const predictions: ManifestQuality['predictions'] = {};
  for (const [k, s] of Object.entries(sketches)) {
    predictions[k] = {
      count: s.count,
      mean: round(s.count ? s.sum / s.count : null),
      min: s.min,
      max: s.max,
      histogram: toHistogram(s),
      sketch: s,
    };
  }
  const psis: Record<string, number> = {};
  const base = baseline?.quality?.predictions;
  if (base) for (const [k, s] of Object.entries(sketches)) if (base[k]) psis[k] = psi(base[k]!.histogram, s);
  const drifted = Object.values(psis).some((v) => v > spec.psiThreshold);
  // A baseline with no prediction column in common (an older manifest, renamed outputs) is no baseline.
  if (Object.keys(psis).length === 0) baseline = undefined;
  return {
    predictions,
    features: Object.fromEntries(
      Object.entries(features).map(([k, f]) => [
        k,
        {
          count: f.count,
          min: f.min,
          max: f.max,
          mean: round(f.count ? f.sum / f.count : null),
          nulls: f.nulls,
          non_finite: f.nonFinite,
        },
      ]),
    ),
    drift: {
      status: !baseline ? 'no_baseline' : drifted ? 'drift' : 'ok',
      threshold: spec.psiThreshold,
      ...(baseline ? { baseline: { run_id: baseline.run_id, batch_date: baseline.batch_date } } : {}),
      psi: psis,
    },
  };
}

/** One line per drifted column, for logs and errors. */
export function describeDrift(q: ManifestQuality): string {
  return Object.entries(q.drift.psi)
    .filter(([, v]) => v > q.drift.threshold)
    .map(
      ([k, v]) =>
        `${k} PSI ${v.toFixed(3)} > ${q.drift.threshold} against ${q.drift.baseline?.batch_date} ` +
        `(${q.drift.baseline?.run_id})`,
    )
    .join('; ');
}
