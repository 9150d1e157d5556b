import { parseJobSpec } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import {
  backfillGenerateName,
  cronWorkflowName,
  fitName,
  jobConfigMapName,
  jobLabels,
  MAX_CRON_WORKFLOW_NAME,
  MAX_LABEL_VALUE,
  runGenerateName,
  templateName,
} from './names.js';
import { renderBackfillWorkflow } from './renderBackfill.js';
import { renderCronWorkflow, renderWorkflow, renderWorkflowTemplate } from './renderWorkflow.js';

const job = (name: string, labels = '{}') =>
  parseJobSpec(
    `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: "${name}", labels: ${labels}}
spec:
  input: {uri: "s3://in-bucket/x/{date}/"}
  model: {uri: "s3://models/m.onnx", version: "v1.2_rc-3", inputs: [{name: x, columns: [a]}], outputs: [{name: y, column: s}]}
  output: {uri: "s3://out-bucket/x/"}
  cluster: {schedule: {crons: ["0 2 * * *"]}}
`,
    { baseDir: '/' },
  );

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** A job name the parser accepts: lowercase letters, digits and '-', alphanumeric at both ends, 1 to 52. */
function randomJobName(rand: () => number, length: number): string {
  const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const inner = `${alnum}---`;
  const pick = (s: string) => s[Math.floor(rand() * s.length)]!;
  if (length === 1) return pick(alnum);
  return pick(alnum) + Array.from({ length: length - 2 }, () => pick(inner)).join('') + pick(alnum);
}
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('names that fit Argo and Kubernetes', () => {
  it('fitName keeps a name that fits, and shortens one that does not to a readable prefix and a hash', () => {
    expect(fitName('batchscore-daily', 52)).toBe('batchscore-daily');
    const long = 'batchscore-a-very-long-job-name-that-is-exactly-fifty-two-chars';
    expect(fitName(long, 52)).toBe('batchscore-a-very-long-job-name-that-is-exactl-b78c4');
    expect(fitName(long, 52)).toHaveLength(52);
    // No '-' before the hash, however the cut falls.
    expect(fitName('abcdefgh--------------ij', 16)).toMatch(/^abcdefgh-[0-9a-f]{5}$/);
  });

  it('a 52-character job: the CronWorkflow is 52, its runs and a backfill’s children 63, the date kept whole', () => {
    const j = job('a-very-long-job-name-that-is-exactly-fifty-two-chars');
    expect(j.metadata.name).toHaveLength(52);
    expect(templateName(j)).toBe('batchscore-a-very-long-job-name-that-is-exactly-fifty-two-chars');
    expect(cronWorkflowName(j)).toBe('batchscore-a-very-long-job-name-that-is-exactl-b78c4');
    expect(renderCronWorkflow(j).metadata!.name).toBe(cronWorkflowName(j));
    expect(runGenerateName(j, '2024-01-15')).toBe('a-very-long-job-name-that-is-exactly-fif-8521f-2024-01-15-');
    expect(runGenerateName(j, '2024-01-15').length + 5).toBe(MAX_LABEL_VALUE);
    expect(renderWorkflow(j, '2024-01-15').metadata!.generateName).toBe(runGenerateName(j, '2024-01-15'));
    expect(backfillGenerateName(j)).toBe('batchscore-a-very-long-job-name-that-is-dc2e4-');
    const parent = `${backfillGenerateName(j)}abcde`;
    expect(`${parent}-2024-01-15`.length).toBeLessThanOrEqual(MAX_LABEL_VALUE);
    expect(renderBackfillWorkflow(j, ['2024-01-15'], { parallel: 1, skipComplete: false }).metadata!.generateName).toBe(
      backfillGenerateName(j),
    );
  });

  it('short names are what they always were', () => {
    const j = job('daily');
    expect([templateName(j), cronWorkflowName(j), jobConfigMapName(j)]).toEqual([
      'batchscore-daily',
      'batchscore-daily',
      'batchscore-job-daily',
    ]);
    expect(runGenerateName(j, '2024-01-15')).toBe('daily-2024-01-15-');
    expect(backfillGenerateName(j)).toBe('batchscore-daily-backfill-');
  });

  it('every job name the parser accepts (generated, 1 to 52 characters) gives names and labels in the limits', () => {
    const rand = mulberry32(23);
    const seen = new Map<string, string>();
    for (let i = 0; i < 520; i++) {
      const name = randomJobName(rand, 1 + (i % 52));
      const j = job(name);
      const cron = cronWorkflowName(j);
      expect(cron.length, cron).toBeLessThanOrEqual(MAX_CRON_WORKFLOW_NAME);
      expect(cron).toMatch(DNS_LABEL);
      // Argo names a cron run CRON-<unix time, 10 digits>.
      expect(`${cron}-1767225600`.length).toBeLessThanOrEqual(MAX_LABEL_VALUE);
      expect(templateName(j).length).toBeLessThanOrEqual(MAX_LABEL_VALUE);
      expect(templateName(j)).toMatch(DNS_LABEL);
      const run = `${runGenerateName(j, '2024-12-31')}x7k2q`;
      expect(run.length, run).toBeLessThanOrEqual(MAX_LABEL_VALUE);
      expect(run).toContain('-2024-12-31-');
      expect(run).toMatch(DNS_LABEL);
      const child = `${backfillGenerateName(j)}x7k2q-2024-12-31`;
      expect(child.length, child).toBeLessThanOrEqual(MAX_LABEL_VALUE);
      expect(child).toMatch(DNS_LABEL);
      for (const [k, v] of Object.entries(jobLabels(j, 'run'))) {
        expect(v.length, k).toBeLessThanOrEqual(MAX_LABEL_VALUE);
        expect(v, k).toMatch(LABEL_VALUE);
      }
      // Two jobs never share a CronWorkflow.
      expect(seen.get(cron) ?? name, cron).toBe(name);
      seen.set(cron, name);
    }
  });

  it('the WorkflowTemplate and CronWorkflow carry the recommended labels; the job’s own labels win', () => {
    const j = job('daily', '{team: risk, app.kubernetes.io/part-of: scoring}');
    expect(renderWorkflowTemplate(j).metadata!.labels).toEqual({
      'app.kubernetes.io/name': 'batchscore',
      'app.kubernetes.io/instance': 'daily',
      'app.kubernetes.io/version': expect.stringMatching(/^\d+\.\d+\.\d+/),
      'app.kubernetes.io/component': 'workflow-template',
      'app.kubernetes.io/part-of': 'scoring',
      'app.kubernetes.io/managed-by': 'batchscore',
      'batchscore.dev/job': 'daily',
      'batchscore.dev/model-version': 'v1.2_rc-3',
      team: 'risk',
    });
    expect(renderCronWorkflow(j).metadata!.labels!['app.kubernetes.io/component']).toBe('schedule');
    expect(renderCronWorkflow(j).metadata!.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '1' });
  });
});

describe('the parser refuses what would not be a label', () => {
  const problems = (name: string, labels: string, version = 'v1') => {
    try {
      parseJobSpec(
        `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: ${name}, labels: ${labels}}
spec:
  input: {uri: "s3://in-bucket/x/"}
  model: {uri: "s3://models/m.onnx", version: "${version}", inputs: [{name: x, columns: [a]}], outputs: [{name: y, column: s}]}
  output: {uri: "s3://out-bucket/x/"}
`,
        { baseDir: '/' },
      );
      return [];
    } catch (err) {
      return (err as Error).message.split('\n').map((l) => l.replace(/^job: /, ''));
    }
  };

  it('a job name over 52 characters, naming the limit', () => {
    expect(problems('a'.repeat(53), '{}')).toEqual([
      `metadata.name: "${'a'.repeat(53)}" must be lowercase letters, digits and '-', start and end alphanumeric, ` +
        'at most 52 characters (it names Kubernetes objects)',
    ]);
    expect(problems('a'.repeat(52), '{}')).toEqual([]);
  });

  it('label values over 63 characters or not alphanumeric at both ends, and bad keys', () => {
    const value = (v: string) =>
      `metadata.labels.team: "${v}" is not a Kubernetes label value: at most 63 characters, letters, digits, ` +
      `'-', '_' and '.', starting and ending with a letter or digit`;
    expect(problems('x', `{team: "${'v'.repeat(64)}"}`)).toEqual([
      expect.stringMatching(/^metadata\.labels\.team: "v+\.\.\. is not a Kubernetes label value: at most 63 /),
    ]);
    expect(problems('x', `{team: "${'v'.repeat(63)}"}`)).toEqual([]);
    expect(problems('x', '{team: "risk-"}')).toEqual([value('risk-')]);
    expect(problems('x', '{team: ""}')).toEqual([]);
    expect(problems('x', '{"Bad Key": a}')[0]).toMatch(
      /^metadata\.labels\.Bad Key: "Bad Key" is not a Kubernetes label key/,
    );
    expect(problems('x', `{${'k'.repeat(64)}: a}`)).toEqual([
      `metadata.labels.${'k'.repeat(64)}: the name part of a label key has at most 63 characters, not 64`,
    ]);
    expect(problems('x', '{example.com/team: a}')).toEqual([]);
  });

  it('a model version that is no label value (it labels every object)', () => {
    const msg = (v: string) =>
      `spec.model.version: "${v}" may hold only letters, digits, '.', '_' and '-', start and end with a letter or ` +
      'digit, and have at most 63 characters (it becomes a folder name and the Kubernetes label ' +
      'batchscore.dev/model-version)';
    expect(problems('x', '{}', '1.0-')).toEqual([msg('1.0-')]);
    expect(problems('x', '{}', 'v'.repeat(64))).toEqual([
      expect.stringMatching(/^spec\.model\.version: "v+\.\.\. may hold only letters, .* at most 63 characters/),
    ]);
    expect(problems('x', '{}', '2024.01_a')).toEqual([]);
  });
});
