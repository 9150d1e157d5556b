// refreshSchedules, the chart's post-install/post-upgrade hook (argo-workflows#12332), against a cluster kept in
// memory: it annotates a CronWorkflow not yet validated with its WorkflowTemplate, and nothing else. The real engine
// runs it through the chart in test/cluster/release.test.ts.
import { describe, expect, it } from 'vitest';
import { REFRESHED_FOR, refreshSchedules, type SchedulesApi } from '@batchscore/coordinator/kube';
import { BatchscoreError } from '@batchscore/core';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function cluster(crons: Obj[], templates: Obj[]): { api: SchedulesApi; patches: [string, Obj][] } {
  const patches: [string, Obj][] = [];
  const byName = (xs: Obj[], name: string) => xs.find((x) => x.metadata.name === name);
  return {
    patches,
    api: {
      async getCronWorkflow(name) {
        const c = byName(crons, name);
        if (!c) throw new BatchscoreError('INPUT_NOT_FOUND', `cronworkflow ${name} not found`);
        return structuredClone(c);
      },
      async getTemplate(name) {
        return structuredClone(byName(templates, name) ?? null);
      },
      async annotate(name, annotations) {
        patches.push([name, annotations]);
        const c = byName(crons, name)!;
        c.metadata.annotations = { ...c.metadata.annotations, ...annotations };
      },
    },
  };
}
const cron = (name: string, template: string, annotations?: Record<string, string>): Obj => ({
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { workflowSpec: { workflowTemplateRef: { name: template } } },
});
const template = (name: string, uid: string): Obj => ({ metadata: { name, uid } });

describe('refreshSchedules', () => {
  it('annotates each CronWorkflow not yet validated with its template; a second run changes nothing', async () => {
    const { api, patches } = cluster(
      [cron('batchscore-a', 'batchscore-a'), cron('batchscore-b', 'batchscore-b', { other: 'kept' })],
      [template('batchscore-a', 'uid-a'), template('batchscore-b', 'uid-b')],
    );
    expect(await refreshSchedules(api, ['batchscore-a', 'batchscore-b'])).toEqual([
      { name: 'batchscore-a', outcome: 'refreshed' },
      { name: 'batchscore-b', outcome: 'refreshed' },
    ]);
    expect(patches).toEqual([
      ['batchscore-a', { [REFRESHED_FOR]: 'uid-a' }],
      ['batchscore-b', { [REFRESHED_FOR]: 'uid-b' }],
    ]);
    expect(await refreshSchedules(api, ['batchscore-a', 'batchscore-b'])).toEqual([
      { name: 'batchscore-a', outcome: 'up to date' },
      { name: 'batchscore-b', outcome: 'up to date' },
    ]);
    expect(patches).toHaveLength(2);
  });

  it('refreshes again when the template was made anew (another uid)', async () => {
    const { api, patches } = cluster(
      [cron('batchscore-a', 'batchscore-a', { [REFRESHED_FOR]: 'old-uid' })],
      [template('batchscore-a', 'new-uid')],
    );
    expect(await refreshSchedules(api, ['batchscore-a'])).toEqual([{ name: 'batchscore-a', outcome: 'refreshed' }]);
    expect(patches).toEqual([['batchscore-a', { [REFRESHED_FOR]: 'new-uid' }]]);
  });

  it('fails, naming it, on a missing template, a CronWorkflow without one, or a missing CronWorkflow', async () => {
    const { api, patches } = cluster(
      [cron('batchscore-a', 'batchscore-missing'), { metadata: { name: 'inline' }, spec: { workflowSpec: {} } }],
      [],
    );
    await expect(refreshSchedules(api, ['batchscore-a'])).rejects.toThrow(
      'cronworkflow batchscore-a: its workflowtemplate batchscore-missing does not exist, so Argo cannot schedule it',
    );
    await expect(refreshSchedules(api, ['inline'])).rejects.toThrow(
      'cronworkflow inline names no WorkflowTemplate (workflowTemplateRef)',
    );
    await expect(refreshSchedules(api, ['nope'])).rejects.toThrow('cronworkflow nope not found');
    expect(patches).toEqual([]);
  });
});
