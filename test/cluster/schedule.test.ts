import { DEFAULT_IMAGES } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { writeCustomers } from '../support/data.js';
import { readManifest } from '../support/output.js';
import { clusterJob, useModelBucket } from './support/fixture.js';
import { batchscore, createdName, kubectl, newNamespace, ok, waitForWorkflow, type Workflow } from './support/kube.js';

/** The CronWorkflow's date on the real controller: its sprig expression evaluated by Argo itself. */

const fx = useModelBucket('bs-cron');

/** A YYYY-MM-DD date in a time zone, moved by whole calendar days. */
function dateIn(t: Date, timeZone: string, days: number): string {
  const local = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(t);
  const d = new Date(`${local}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A job scheduled by `cron` in Europe/Berlin, scoring yesterday. */
const cronJob = (name: string, prefix: string, cron: string) =>
  clusterJob(fx, {
    name,
    prefix,
    rowsPerShard: 10_000,
    cluster: `    schedule: {crons: ["${cron}"], timezone: Europe/Berlin, dateOffsetDays: -1}\n`,
  });

describe('the CronWorkflow date on the real controller', () => {
  it(
    'the rendered CronWorkflow date over both Berlin daylight-saving changes: a calendar ' +
      'day back, never 24 hours, in the pods and the label',
    async () => {
      const ns = await newNamespace('cronexpr');
      const file = await cronJob('credit-cronexpr', 'cronexpr', '0 0 1 1 *');
      // What the CronWorkflow gives each run it starts: the date argument and its own labelsFrom.
      const cron = parse(await ok(batchscore(['render', file, '--kind', 'cronworkflow']))) as {
        spec: { workflowSpec: { arguments: unknown; workflowMetadata: unknown } };
      };
      const cases: [string, string][] = [
        ['2024-03-31T22:30:00Z', '2024-03-31'], // 2024-04-01 00:30 CEST: yesterday is 03-31 (24 h back is 03-30)
        ['2024-10-27T22:30:00Z', '2024-10-26'], // 2024-10-27 23:30 CET: yesterday is 10-26 (24 h back is 10-27)
        ['2024-06-15T00:00:00Z', '2024-06-14'], // 2024-06-15 02:00 CEST
      ];
      const names: string[] = [];
      for (const [ts] of cases) {
        // A cron run is a Workflow with this annotation; workflow.scheduledTime comes from it (operator.go).
        const wf = {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Workflow',
          metadata: {
            generateName: 'cron-date-',
            namespace: ns,
            annotations: { 'workflows.argoproj.io/scheduled-time': ts },
          },
          spec: {
            entrypoint: 'date',
            serviceAccountName: 'batchscore',
            arguments: cron.spec.workflowSpec.arguments,
            workflowMetadata: cron.spec.workflowSpec.workflowMetadata,
            // /tmp is the pod's own emptyDir, as in batchscore's templates.
            volumes: [{ name: 'tmp', emptyDir: {} }],
            templates: [
              {
                name: 'date',
                container: {
                  image: DEFAULT_IMAGES.cpu,
                  command: ['sh', '-c'],
                  args: ["printf %s '{{workflow.parameters.date}}' > /tmp/date"],
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                },
                outputs: { parameters: [{ name: 'date', valueFrom: { path: '/tmp/date' } }] },
              },
            ],
          },
        };
        names.push(createdName(await ok(kubectl(['create', '-f', '-'], { input: stringify(wf) }))));
      }
      for (const [i, name] of names.entries()) {
        const done = await waitForWorkflow(ns, name);
        expect(done.status?.phase, JSON.stringify(done.status?.message)).toBe('Succeeded');
        const pod = Object.values(done.status!.nodes!).find((n) => n.type === 'Pod')!;
        expect([pod.outputs?.parameters?.[0]?.value, done.metadata.labels?.['batchscore.dev/date']]).toEqual([
          cases[i]![1],
          cases[i]![1],
        ]);
      }
    },
  );

  it(
    'a per-minute CronWorkflow fires and scores the date its expression computes (yesterday ' + 'in the job zone)',
    async () => {
      const ns = await newNamespace('cron');
      const zone = 'Europe/Berlin';
      // The run fires within two minutes; its date is yesterday in Berlin then (both candidates get input, in case a
      // Berlin midnight falls in between).
      const now = new Date();
      const candidates = [...new Set([dateIn(now, zone, -1), dateIn(new Date(now.getTime() + 180_000), zone, -1)])];
      for (const d of candidates) await writeCustomers(fx.store, `cron/in/dt=${d}/`, 20_000, 10_000, 5_000);
      const file = await cronJob('credit-cron', 'cron', '* * * * *');
      // The CronWorkflow refers to the WorkflowTemplate, whose pods read the job's ConfigMap: all three are applied, as
      // from Git.
      await ok(kubectl(['-n', ns, 'apply', '-f', '-'], { input: await ok(batchscore(['render', file])) }));
      let run: Workflow | undefined;
      for (let i = 0; i < 150 && !run; i++) {
        const list = JSON.parse(await ok(kubectl(['-n', ns, 'get', 'workflows', '-o', 'json']))) as {
          items: Workflow[];
        };
        run = list.items[0];
        if (!run) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(run, 'the CronWorkflow fired no Workflow within 150 s').toBeDefined();
      const done = await waitForWorkflow(ns, run!.metadata.name);
      expect(done.status?.phase, JSON.stringify(done.status?.message)).toBe('Succeeded');
      const scheduled = (done.metadata as { annotations?: Record<string, string> }).annotations?.[
        'workflows.argoproj.io/scheduled-time'
      ];
      expect(scheduled).toBeDefined();
      const date = dateIn(new Date(scheduled!), zone, -1);
      expect(done.metadata.labels?.['batchscore.dev/date']).toBe(date);
      const m = await readManifest(new S3Store({ bucket: fx.bucket, prefix: 'cron/out/', client: fx.s3.client }), date);
      expect(m).toMatchObject({ status: 'complete', record_count: 20_000, batch_date: date });
      await ok(kubectl(['-n', ns, 'delete', 'cronworkflow', '--all']));
    },
  );
});
