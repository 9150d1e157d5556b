import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../support/cli.js';
// @ts-expect-error: a plain ES module script, without types
import { generatedFiles } from '../../scripts/render-examples.mjs';

// argo/ and the chart's generated parts come from the renderer and the spec parser (`npm run render:examples`);
// regenerate them on purpose when either changes.
const files = (await generatedFiles()) as Record<string, string>;

it.each(Object.keys(files))('%s is what `npm run render:examples` produces now', async (file) => {
  expect(await readFile(path.join(REPO, file), 'utf8')).toBe(files[file]);
});

it('generates the example job objects, the backfill template and the chart parts', () => {
  expect(Object.keys(files).sort()).toEqual([
    'argo/batchscore-backfill.yaml',
    'argo/credit-risk.configmap.yaml',
    'argo/credit-risk.cronworkflow.yaml',
    'argo/credit-risk.workflowtemplate.yaml',
    'helm/batchscore/files/backfill.json',
    'helm/batchscore/templates/_defaults.tpl',
    'helm/batchscore/values.schema.json',
  ]);
});
