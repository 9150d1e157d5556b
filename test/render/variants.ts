import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  renderBackfillRbac,
  renderBackfillTemplate,
  renderBackfillWorkflow,
  renderCronWorkflow,
  renderJobConfigMap,
  renderWorkflow,
  renderWorkflowFromTemplate,
  renderWorkflowTemplate,
} from '@batchscore/coordinator';
import { parseJobSpec, type ScoringJob } from '@batchscore/core';
import { REPO } from '../support/cli.js';

/**
 * The jobs the golden files and the chart comparison render (test/render/jobs/, and the README's example): a CPU job
 * that sets little, a scheduled GPU job that sets most of spec.cluster, the longest job name, and
 * examples/credit-risk.yaml.
 */
export const JOB_FILES: Record<string, string> = {
  cpu: 'test/render/jobs/cpu.yaml',
  gpu: 'test/render/jobs/gpu.yaml',
  'long-name': 'test/render/jobs/long-name.yaml',
  'credit-risk': 'examples/credit-risk.yaml',
};

export function loadVariantJob(variant: string): { job: ScoringJob; text: string; file: string } {
  const file = path.join(REPO, JOB_FILES[variant]!);
  const text = readFileSync(file, 'utf8');
  return { job: parseJobSpec(text, { baseDir: path.dirname(file), source: file }), text, file };
}

const DATE = '2024-03-01';

/**
 * What `batchscore render` prints for a job (in namespace `ns` when given): `objects` (--kind all: ConfigMap,
 * WorkflowTemplate, CronWorkflow with a schedule), `inline` (--kind workflow: self-contained), `from-template`
 * (--kind workflow --from-template), `backfill` (backfill --dry-run, dates DATE and the next two).
 */
export function renderVariant(variant: string, namespace?: string): Record<string, unknown[]> {
  const { job, text } = loadVariantJob(variant);
  const ns = namespace === undefined ? {} : { namespace };
  return {
    objects: [
      renderJobConfigMap(job, text, ns),
      renderWorkflowTemplate(job, ns),
      ...(job.spec.cluster.schedule ? [renderCronWorkflow(job, ns)] : []),
    ],
    inline: [renderWorkflow(job, DATE, ns)],
    'from-template': [renderWorkflowFromTemplate(job, DATE, ns)],
    backfill: [
      renderBackfillWorkflow(job, [DATE, '2024-03-02', '2024-03-03'], { parallel: 2, skipComplete: true, ...ns }),
    ],
  };
}

/** `batchscore render --kind backfill-template`. */
export function renderBackfillObjects(namespace?: string): unknown[] {
  const ns = namespace === undefined ? {} : { namespace };
  return [...renderBackfillRbac(ns), renderBackfillTemplate(ns)];
}
