import { DEFAULT_IMAGES, parseJobSpec, type ScoringJob } from '@batchscore/core';
import type { CronWorkflow, Template, Workflow, WorkflowTemplate } from './argoTypes.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  renderCronWorkflow,
  renderWorkflow,
  renderWorkflowTemplate,
  scheduledDateExpression,
} from './renderWorkflow.js';
import { BATCHSCORE_VERSION, toYaml } from '@batchscore/core';
import { toJobJson } from './renderWorkflowSpec.js';
import { present } from '../../../../test/support/present.js';

const base = (cluster = '', sharding = '') =>
  parseJobSpec(
    `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: churn}
spec:
  input: {uri: "s3://data/in/{date}/"}
  model:
    uri: "s3://models/churn.onnx"
    version: "2024.1"
    inputs: [{name: x, columns: [a, b]}]
    outputs: [{name: p, index: 1, column: score}]
  output: {uri: "s3://out/churn/", passthrough: [id]}
${sharding}${cluster ? `  cluster:\n${cluster}` : ''}`,
    { baseDir: '/' },
  );

/** A template of a rendered object by name. */
const tpl = (wf: { spec: { templates?: Template[] } }, name: string) =>
  present(wf.spec.templates!.find((t) => t.name === name)!);

describe('renderWorkflow', () => {
  it('renders a CPU-only job without any GPU request, toleration, selector or runtime class', () => {
    const wf = present(renderWorkflow(base(), '2024-01-15'));
    const score = tpl(wf, 'score');
    expect(score.container.resources).toEqual({ requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '4Gi' } });
    expect(score.tolerations).toBeUndefined();
    expect(score.nodeSelector).toBeUndefined();
    // No runtime class; the grace period SIGTERM leaves (spec.cluster.terminationGracePeriodSeconds, default 30).
    expect(JSON.parse(score.podSpecPatch)).toEqual({ terminationGracePeriodSeconds: 30 });
    expect(score.container.args.slice(-2)).toEqual(['--grace-period', '30']);
    expect(JSON.stringify(wf)).not.toContain('nvidia.com/gpu');
    // Only score pods hold parts to commit on SIGTERM; plan and merge keep Kubernetes' own grace period.
    for (const t of ['plan', 'merge']) expect(tpl(wf, t).podSpecPatch).toBeUndefined();
  });

  it('gives score pods spec.cluster.terminationGracePeriodSeconds, and tells the pod how long it has', () => {
    const wf: Parameters<typeof tpl>[0] = renderWorkflow(
      base('    terminationGracePeriodSeconds: 110\n'),
      '2024-01-15',
    );
    const score = tpl(wf, 'score');
    expect(JSON.parse(score.podSpecPatch)).toEqual({ terminationGracePeriodSeconds: 110 });
    expect(score.container.args.slice(-2)).toEqual(['--grace-period', '110']);
  });

  it("sends score pods to spot GPU nodes with the clouds' labels and taints, plan and merge elsewhere", () => {
    // The docs' spot example: GKE Spot, EKS (Karpenter) and AKS spot pools label and taint their nodes so.
    const wf: Parameters<typeof tpl>[0] = renderWorkflow(
      base(
        '    gpusPerWorker: 1\n' +
          '    terminationGracePeriodSeconds: 25\n' +
          '    nodeSelector: {cloud.google.com/gke-spot: "true"}\n' +
          '    tolerations:\n' +
          '      - {key: cloud.google.com/gke-spot, operator: Equal, value: "true", effect: NoSchedule}\n' +
          '      - {key: kubernetes.azure.com/scalesetpriority, operator: Equal, value: spot, effect: NoSchedule}\n' +
          '      - {key: karpenter.sh/capacity-type, operator: Equal, value: spot, effect: NoSchedule}\n',
      ),
      '2024-01-15',
    );
    const score = tpl(wf, 'score');
    expect(score.nodeSelector).toEqual({ 'cloud.google.com/gke-spot': 'true' });
    expect(score.tolerations.map((t: { key: string }) => t.key)).toEqual([
      'cloud.google.com/gke-spot',
      'kubernetes.azure.com/scalesetpriority',
      'karpenter.sh/capacity-type',
      'nvidia.com/gpu',
    ]);
    expect(JSON.parse(score.podSpecPatch)).toEqual({ terminationGracePeriodSeconds: 25 });
    for (const t of ['plan', 'merge']) {
      expect(tpl(wf, t).nodeSelector).toBeUndefined();
      expect(tpl(wf, t).tolerations).toBeUndefined();
    }
  });

  it(
    'renders GPU workers: the limit, the nvidia.com/gpu toleration, the product selector, ' +
      'runtimeClassName by podSpecPatch, /dev/shm in memory',
    () => {
      const wf = present(
        renderWorkflow(
          base(
            '    gpusPerWorker: 2\n    gpuProduct: NVIDIA-H100-80GB-HBM3\n    runtimeClassName: ' +
              'nvidia\n    shmSize: 2Gi\n    gpuSemaphore: {configMap: gpu-cap, key: workers}\n',
          ),
          '2024-01-15',
        ),
      );
      const score = tpl(wf, 'score');
      expect(score.container.resources.limits).toEqual({ memory: '4Gi', 'nvidia.com/gpu': '2' });
      expect(score.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(score.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
      expect(JSON.parse(score.podSpecPatch)).toEqual({ runtimeClassName: 'nvidia', terminationGracePeriodSeconds: 30 });
      expect(score.container.volumeMounts).toContainEqual({ name: 'dshm', mountPath: '/dev/shm' });
      expect(wf.spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } });
      expect(score.synchronization).toEqual({ semaphores: [{ configMapKeyRef: { name: 'gpu-cap', key: 'workers' } }] });
      // Plan and merge never ask for a GPU.
      expect(JSON.stringify(tpl(wf, 'plan'))).not.toContain('nvidia.com/gpu');
      expect(JSON.stringify(tpl(wf, 'merge'))).not.toContain('nvidia.com/gpu');
    },
  );

  it(
    'fans out with withSequence over the pod count plan writes, never a withParam list ' +
      'of shards; each pod scores a stride',
    () => {
      const wf = present(renderWorkflow(base(), '2024-01-15'));
      const tasks = tpl(wf, 'main').dag.tasks;
      expect(tasks.map((t) => [t.name, t.depends])).toEqual([
        ['plan', undefined],
        ['score', 'plan'],
        ['merge', 'score'],
      ]);
      expect(tasks[1].withSequence).toEqual({ count: '{{tasks.plan.outputs.parameters.pods}}' });
      expect(tasks[1].arguments).toEqual({
        parameters: [
          { name: 'pod', value: '{{item}}' },
          { name: 'pods', value: '{{tasks.plan.outputs.parameters.pods}}' },
        ],
      });
      expect(JSON.stringify(wf)).not.toContain('withParam');
      const plan = tpl(wf, 'plan');
      expect(plan.outputs.parameters).toEqual([
        { name: 'shards', valueFrom: { path: '/tmp/shards' } },
        { name: 'pods', valueFrom: { path: '/tmp/pods' } },
        { name: 'complete', valueFrom: { path: '/tmp/complete' } },
      ]);
      // A date already published (skip-complete=true) runs plan alone.
      expect(tasks.map((t: { name: string; when?: string }) => [t.name, t.when])).toEqual([
        ['plan', undefined],
        ['score', '{{tasks.plan.outputs.parameters.complete}} != true'],
        ['merge', '{{tasks.plan.outputs.parameters.complete}} != true'],
      ]);
      // The default cap: 4 pods per slot of spec.cluster.parallelism (8).
      expect(plan.container.args.slice(-6)).toEqual([
        '--shard-count-file',
        '/tmp/shards',
        '--pod-count-file',
        '/tmp/pods',
        '--max-pods',
        '32',
      ]);
      const score = tpl(wf, 'score');
      expect(score.inputs).toEqual({ parameters: [{ name: 'pod' }, { name: 'pods' }] });
      expect(score.container.args.slice(-6)).toEqual([
        '--pod',
        '{{inputs.parameters.pod}}',
        '--pods',
        '{{inputs.parameters.pods}}',
        '--grace-period',
        '30',
      ]);
      expect(score.container.args).not.toContain('--shard');
    },
  );

  it('caps the score pods at spec.cluster.scorePods', () => {
    const wf = present(renderWorkflow(base('    parallelism: 2\n    scorePods: 5\n'), '2024-01-15'));
    expect(tpl(wf, 'plan').container.args.slice(-2)).toEqual(['--max-pods', '5']);
    expect(tpl(wf, 'main').parallelism).toBe(2);
  });

  it(
    'is the same size whatever the number of shards: a 1,000-shard job renders far under ' +
      'Argo’s ~1 MB object limit',
    () => {
      const small = toYaml([renderWorkflow(base('', '  sharding: {rowsPerShard: 250000}\n'), '2024-01-15')]);
      const large = toYaml([renderWorkflow(base('', '  sharding: {rowsPerShard: 1000}\n'), '2024-01-15')]);
      expect(Buffer.byteLength(large)).toBeLessThan(32 * 1024);
      expect(large.replaceAll('rowsPerShard":1000,', 'rowsPerShard":250000,')).toBe(small);
      expect(tpl(renderWorkflow(base(), '2024-01-15'), 'main').dag.tasks.length).toBeLessThanOrEqual(200);
    },
  );

  // test/argo/expressions.test.ts evaluates the expression over the failures a cluster delivers.
  it(
    'retries retryable exits (75), killed pods (137) and pods lost with their node, with ' + 'the configured backoff',
    () => {
      const wf = present(
        renderWorkflow(
          base('    retries: {limit: 5, backoff: {duration: 10s, factor: 3, maxDuration: 1h}}\n'),
          '2024-01-15',
        ),
      );
      for (const name of ['plan', 'score', 'merge', 'record-failure']) {
        expect(tpl(wf, name).retryStrategy).toEqual({
          limit: 5,
          retryPolicy: 'Always',
          expression:
            "lastRetry.exitCode in ['75', '137'] || (lastRetry.message matches 'pod deleted|imminent " +
            "node shutdown' && !(lastRetry.exitCode in ['64', '65', '66', '70']))",
          backoff: { duration: '10s', factor: 3, maxDuration: '1h' },
        });
      }
    },
  );

  it(
    'keeps secrets out: S3 credentials only through secretKeyRef; pods non-root with ' + 'a read-only root filesystem',
    () => {
      const wf = present(
        renderWorkflow(
          base(
            '    s3Secret: {name: s3-creds, accessKeyIdKey: id, secretAccessKeyKey: key}\n   ' +
              ' env: {AWS_REGION: eu-west-1}\n',
          ),
          '2024-01-15',
        ),
      );
      for (const name of ['plan', 'score', 'merge', 'record-failure']) {
        const c = tpl(wf, name).container;
        expect(c.env).toEqual([
          { name: 'BATCHSCORE_LOG_FORMAT', value: 'json' },
          { name: 'BATCHSCORE_IMAGE', value: c.image },
          { name: 'AWS_REGION', value: 'eu-west-1' },
          { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3-creds', key: 'id' } } },
          { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 's3-creds', key: 'key' } } },
        ]);
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
        expect(c.volumeMounts).toContainEqual({ name: 'scratch', mountPath: '/tmp' });
      }
      expect(wf.spec.volumes).toContainEqual({ name: 'scratch', emptyDir: {} });
    },
  );

  it('tells every container the image it runs (BATCHSCORE_IMAGE), whichever way the image was chosen', () => {
    const images = (wf: ReturnType<typeof renderWorkflow>) =>
      wf.spec.templates!.flatMap((t) =>
        t.container ? [[t.container.image, t.container.env?.find((e) => e.name === 'BATCHSCORE_IMAGE')?.value]] : [],
      );
    const byDefault = images(renderWorkflow(base(), '2024-01-15'));
    expect(byDefault.length).toBeGreaterThanOrEqual(4);
    for (const pair of byDefault) expect(pair).toEqual([DEFAULT_IMAGES.cpu, DEFAULT_IMAGES.cpu]);
    const set = images(renderWorkflow(base('    image: registry.example/bs:1\n'), '2024-01-15'));
    for (const pair of set) expect(pair).toEqual(['registry.example/bs:1', 'registry.example/bs:1']);
    const flag = images(
      renderWorkflow(base('    image: registry.example/bs:1\n'), '2024-01-15', { image: 'ci/bs:sha' }),
    );
    for (const pair of flag) expect(pair).toEqual(['ci/bs:sha', 'ci/bs:sha']);
  });

  it('labels the run, keys the mutex by job and date, and quotes the date so YAML 1.1 readers keep it a string', () => {
    const wf = present(renderWorkflow(base(), '2024-01-15'));
    expect(wf.metadata).toEqual({
      generateName: 'churn-2024-01-15-',
      labels: {
        'app.kubernetes.io/name': 'batchscore',
        'app.kubernetes.io/instance': 'churn',
        'app.kubernetes.io/version': BATCHSCORE_VERSION,
        'app.kubernetes.io/component': 'run',
        'app.kubernetes.io/part-of': 'batchscore',
        'app.kubernetes.io/managed-by': 'batchscore',
        'batchscore.dev/job': 'churn',
        'batchscore.dev/date': '2024-01-15',
        'batchscore.dev/model-version': '2024.1',
      },
    });
    expect(wf.spec.synchronization).toEqual({ mutexes: [{ name: 'batchscore-churn-{{workflow.parameters.date}}' }] });
    // The job travels once, as a parameter, to the pods that read it.
    expect(wf.spec.arguments).toEqual({
      parameters: [
        { name: 'date', value: '2024-01-15' },
        { name: 'skip-complete', value: 'false' },
        { name: 'job', value: toJobJson(base()) },
      ],
    });
    expect(JSON.stringify(wf).split('\\"ScoringJob\\"').length - 1).toBe(1);
    const yaml = toYaml([wf]);
    expect(yaml).toContain('batchscore.dev/date: "2024-01-15"');
    expect(parse(yaml, { version: '1.1' })).toEqual(wf);
  });

  it('records a failed run only when the workflow did not succeed', () => {
    const wf = present(renderWorkflow(base(), '2024-01-15'));
    expect(wf.spec.onExit).toBe('exit-handler');
    expect(tpl(wf, 'exit-handler').dag).toEqual({
      tasks: [{ name: 'record-failure', template: 'record-failure', when: '{{workflow.status}} != Succeeded' }],
    });
  });

  it('refuses local file URIs: pods cannot read this machine’s disk', () => {
    const job = parseJobSpec(
      `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: churn}
spec:
  input: {uri: "data/"}
  model:
    uri: "s3://models/churn.onnx"
    version: v1
    inputs: [{name: x, columns: [a]}]
    outputs: [{name: p, column: s}]
  output: {uri: "s3://out/"}
`,
      { baseDir: '/jobs' },
    );
    expect(() => renderWorkflow(job, '2024-01-15')).toThrow(
      "spec.input.uri: file:///jobs/data/ is a local path; pods cannot read this machine's " +
        'disk, use an s3:// URI to render for a cluster',
    );
  });
});

describe('renderWorkflowTemplate and renderCronWorkflow', () => {
  it('the template takes the date as a required parameter and labels its workflows with it', () => {
    const t = present(renderWorkflowTemplate(base()));
    expect(t.metadata.name).toBe('batchscore-churn');
    expect(t.spec.arguments).toEqual({
      parameters: [
        { name: 'date', description: 'The batch date to score, YYYY-MM-DD' },
        {
          name: 'skip-complete',
          value: 'false',
          description: 'true: do nothing when the date is already published for this model (version and sha256)',
        },
      ],
    });
    // The job is not in the template: its pods read the job's ConfigMap, or the plan.
    expect(JSON.stringify(t)).not.toContain('ScoringJob');
    expect(t.spec.volumes).toContainEqual({
      name: 'job',
      configMap: { name: 'batchscore-job-churn', items: [{ key: 'job.yaml', path: 'job.yaml' }] },
    });
    const args = Object.fromEntries(
      t.spec.templates.filter((x) => x.container).map((x) => [x.name, x.container.args.slice(0, 3)]),
    );
    expect(args).toEqual({
      plan: ['plan', '/etc/batchscore/job/job.yaml', '--date'],
      score: ['score', '--plan', 's3://out/churn/_batchscore/{{workflow.parameters.date}}/2024.1/plan.json'],
      merge: ['merge', '--plan', 's3://out/churn/_batchscore/{{workflow.parameters.date}}/2024.1/plan.json'],
      'record-failure': ['record-failure', '/etc/batchscore/job/job.yaml', '--date'],
    });
    expect(t.spec.workflowMetadata.labelsFrom).toEqual({
      'batchscore.dev/date': { expression: 'workflow.parameters.date' },
    });
  });

  it('the CronWorkflow refers to the template, forbids overlap, and derives the date from the scheduled time', () => {
    const c = present(
      renderCronWorkflow(
        base('    schedule: {crons: ["30 1 * * *", "30 13 * * *"], timezone: America/New_York, dateOffsetDays: -2}\n'),
      ),
    );
    expect(c.spec).toMatchObject({
      schedules: ['30 1 * * *', '30 13 * * *'],
      timezone: 'America/New_York',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      workflowSpec: { workflowTemplateRef: { name: 'batchscore-churn' } },
    });
    expect(c.spec).not.toHaveProperty('schedule');
    // Calendar days in the job's zone (test/argo/expressions.test.ts evaluates it across DST changes).
    expect(c.spec.workflowSpec.arguments.parameters[0].value).toBe(
      "{{=sprig.dateInZone('2006-01-02', sprig.dateModify('-48h', sprig.toDate('2006-01-02T15:04:05Z07:00', " +
        "sprig.dateInZone('2006-01-02', sprig.toDate('2006-01-02T15:04:05Z07:00', workflow.scheduledTime), " +
        "'America/New_York') + 'T00:00:00Z')), 'UTC')}}",
    );
    // Its runs label themselves with the same date, computed from the scheduled time: the template's labelsFrom
    // would read the parameter's unexpanded text (an invalid label: every run ended in Error on the real controller).
    expect(c.spec.workflowSpec.workflowMetadata).toEqual({
      labelsFrom: {
        'batchscore.dev/date': { expression: c.spec.workflowSpec.arguments.parameters[0].value.slice(3, -2) },
      },
    });
    expect(scheduledDateExpression('UTC', 0)).toBe(
      "{{=sprig.dateInZone('2006-01-02', sprig.toDate('2006-01-02T15:04:05Z07:00', workflow.scheduledTime), 'UTC')}}",
    );
    expect(() => renderCronWorkflow(base())).toThrow('spec.cluster.schedule: is required to render a CronWorkflow');
  });
});

describe('namespace', () => {
  const all = (job: ScoringJob, opts = {}) =>
    [renderWorkflow(job, '2024-01-15', opts), renderWorkflowTemplate(job, opts), renderCronWorkflow(job, opts)] as (
      Workflow | WorkflowTemplate | CronWorkflow
    )[];
  const sched = '    schedule: {crons: ["30 1 * * *"]}\n';

  it('is left out unless asked for, so that kubectl -n (or the context) decides, as for kubectl’s own objects', () => {
    for (const o of all(base(sched))) expect(Object.keys(o.metadata)).not.toContain('namespace');
    expect(toYaml(all(base(sched)))).not.toContain('namespace:');
  });

  it('is spec.cluster.namespace when the job names one, and the namespace option over it', () => {
    for (const o of all(base(`    namespace: team-a\n${sched}`))) expect(o.metadata.namespace).toBe('team-a');
    for (const o of all(base(`    namespace: team-a\n${sched}`), { namespace: 'team-b' }))
      expect(o.metadata.namespace).toBe('team-b');
    for (const o of all(base(sched), { namespace: 'team-b' })) expect(o.metadata.namespace).toBe('team-b');
  });
});

describe('no secrets in the rendered YAML', () => {
  const job = (extra: string, cluster = '') =>
    parseJobSpec(
      `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: churn}
spec:
  input: {uri: "s3://data/in/{date}/"}
  model:
    uri: "s3://models/churn.onnx"
    version: "2024.1"
    inputs: [{name: x, columns: [a, b]}]
    outputs: [{name: p, index: 1, column: score}]
  output: {uri: "s3://out/churn/"}
${extra}${cluster ? `  cluster:\n${cluster}` : ''}`,
      { baseDir: '/' },
    );
  const fails = (f: () => unknown, message: string) => {
    let e: unknown;
    try {
      f();
    } catch (x) {
      e = x;
    }
    expect(e).toMatchObject({ name: 'BatchscoreError', code: 'SPEC_INVALID', message });
  };
  const renders = (j: ScoringJob) => [
    () => renderWorkflow(j, '2024-01-15'),
    () => renderWorkflowTemplate(j),
    () => renderWorkflowTemplate(j, { namespace: 'x' }),
  ];
  const WEBHOOK =
    'spec.notify.webhook.url: a plain webhook URL would be copied into every pod of the ' +
    'rendered YAML, and chat webhooks carry their token in it; ' +
    'to render for a cluster use spec.notify.webhook.urlFromEnv with spec.cluster.webhookSecret ' +
    '(see manifests/webhook-secret.example.yaml)';
  const PUSHGATEWAY =
    'spec.metrics.pushgateway: https://***@push.example:9091/ has credentials in the ' +
    'URL, which would be copied into every pod of the rendered YAML; ' +
    'use a Pushgateway URL without them (an in-cluster Service, limited by a NetworkPolicy, ' +
    'or an authenticating proxy next to the Pushgateway)';

  it('refuses a plain webhook URL, whatever it looks like (chat webhooks carry their token in it)', () => {
    for (const url of ['https://hooks.slack.com/services/T000/B000/XXXXXXXX', 'http://alerts.internal/notify']) {
      const j = job(`  notify: {webhook: {url: "${url}"}}\n`);
      for (const r of renders(j)) fails(r, WEBHOOK);
    }
    // The one-string form is the same plain URL.
    fails(
      () => renderWorkflow(job('  notify: {webhook: "https://hooks.slack.com/services/T/B/X"}\n'), '2024-01-15'),
      WEBHOOK,
    );
  });

  it('renders a webhook from a Secret: the URL reaches the notify pod by secretKeyRef only', () => {
    const wf = present(
      renderWorkflow(
        job('  notify: {webhook: {urlFromEnv: HOOK_URL}}\n', '    webhookSecret: {name: hook, key: url}\n'),
        '2024-01-15',
      ),
    );
    expect(tpl(wf, 'notify').container.env).toContainEqual({
      name: 'HOOK_URL',
      valueFrom: { secretKeyRef: { name: 'hook', key: 'url' } },
    });
  });

  it('refuses a Pushgateway URL with user:password@, and shows it without them', () => {
    const j = job('  metrics: {pushgateway: "https://scorer:s3cret@push.example:9091/"}\n');
    for (const r of renders(j)) fails(r, PUSHGATEWAY);
    expect(() => renderWorkflow(j, '2024-01-15')).not.toThrow(/s3cret/);
    expect(() =>
      renderWorkflow(job('  metrics: {pushgateway: "http://pushgateway.monitoring:9091"}\n'), '2024-01-15'),
    ).not.toThrow();
  });

  it('refuses credentials in any other URL it copies: the S3 endpoint, cluster env', () => {
    const j = job(
      '  storage: {s3: {endpoint: "http://minio:minio123@minio:9000"}}\n',
      '    env: {AWS_ENDPOINT_URL_S3: "http://k:s@minio:9000"}\n',
    );
    fails(
      () => renderWorkflow(j, '2024-01-15'),
      [
        'spec.storage.s3.endpoint: http://***@minio:9000 has credentials in the URL, which ' +
          'would be copied into the rendered YAML; remove them (S3 credentials go in spec.cluster.s3Secret)',
        'spec.cluster.env.AWS_ENDPOINT_URL_S3: http://***@minio:9000 has credentials in the ' +
          'URL, which would be copied into the rendered YAML; remove them (S3 credentials go ' +
          'in spec.cluster.s3Secret)',
      ].join('\n'),
    );
  });

  it('says every problem at once, one line each', () => {
    const j = job(
      '  notify: {webhook: {url: "https://hooks.slack.com/services/T/B/X"}}\n  metrics: ' +
        '{pushgateway: "https://scorer:s3cret@push.example:9091/"}\n',
    );
    fails(() => renderWorkflow(j, '2024-01-15'), `${WEBHOOK}\n${PUSHGATEWAY}`);
  });
});
