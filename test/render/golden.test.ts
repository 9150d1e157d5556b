// Golden files of what the renderer prints (issue 25), one per job and variant, in cdk8s' snapshot style: a change to
// the rendered objects shows as a diff of test/render/golden/*.yaml in review. Regenerate on purpose with
// `npx vitest run test/render/golden.test.ts -u` and read the diff. test/helm/renderEquality.test.ts holds the
// chart to the same objects.
import { toYaml } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { JOB_FILES, loadVariantJob, renderBackfillObjects, renderVariant } from './variants.js';

const golden = (name: string) => `./golden/${name}.yaml`;

describe('golden files of the rendered objects', () => {
  for (const variant of Object.keys(JOB_FILES)) {
    it(`${variant}: the job's objects, a self-contained run, a run from the template, a backfill`, async () => {
      const rendered = renderVariant(variant);
      for (const [kind, docs] of Object.entries(rendered))
        await expect(toYaml(docs)).toMatchFileSnapshot(golden(`${variant}.${kind}`));
    });
  }

  it('the generic backfill template and its identity', async () => {
    await expect(toYaml(renderBackfillObjects())).toMatchFileSnapshot(golden('backfill-template'));
  });

  it('batchscore render and backfill --dry-run print the same', async () => {
    const { file } = loadVariantJob('gpu');
    const rendered = renderVariant('gpu', 'team-a');
    const cli = async (args: string[]) => {
      const r = await runCli(['render', file, '-n', 'team-a', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    // The kinds that print one object call the same functions (packages/cli/src/commands/render.ts).
    expect(await cli([])).toBe(toYaml(rendered.objects!));
    const backfill = await runCli([
      'backfill',
      file,
      '--from',
      '2024-03-01',
      '--to',
      '2024-03-03',
      '--parallel',
      '2',
      '--skip-complete',
      '--dry-run',
      '-n',
      'team-a',
    ]);
    expect(backfill.stdout, backfill.stderr).toBe(toYaml(rendered.backfill!));
    const template = await runCli(['render', '--kind', 'backfill-template', '-n', 'team-a']);
    expect(template.stdout).toBe(toYaml(renderBackfillObjects('team-a')));
  });
});
