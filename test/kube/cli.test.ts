import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderBackfillWorkflow, renderWorkflow, renderWorkflowFromTemplate } from '@batchscore/coordinator';
import { readJobFile, sha256Hex } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { startFakeKube, type FakeKube } from '../support/fakeKube.js';
import { s3Env, startS3, type S3Server } from '../support/s3server.js';

// No Kubernetes API server or Argo controller runs here: the CLI talks to a local HTTP server that speaks the
// Workflow part of the Kubernetes API, and the test plays the controller by setting phases.
describe('batchscore submit / backfill against a fake Kubernetes API', () => {
  let s3: S3Server;
  let bucket: string;
  let kube: FakeKube;
  let jobFile: string;
  let noNsJobFile: string;

  beforeAll(async () => {
    s3 = await startS3();
    bucket = await s3.bucket('bs-kube');
    await new S3Store({ bucket, prefix: '', client: s3.client }).put(
      'models/credit.onnx',
      await readFile(CREDIT_MODEL),
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-kube-'));
    jobFile = path.join(dir, 'job.yaml');
    await writeFile(
      jobFile,
      `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: credit-risk}
spec:
  input: {uri: "s3://${bucket}/customers/{date}/"}
  model:
    uri: "s3://${bucket}/models/credit.onnx"
    version: v3
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: p}]
  output: {uri: "s3://${bucket}/scores/", passthrough: [customer_id]}
  cluster: {namespace: scoring}
`,
    );
    // The same job naming no namespace: the kubeconfig decides, as for kubectl.
    noNsJobFile = path.join(dir, 'job-no-ns.yaml');
    await writeFile(noNsJobFile, (await readFile(jobFile, 'utf8')).replace('  cluster: {namespace: scoring}\n', ''));
  });
  afterEach(async () => kube?.stop());
  afterAll(async () => s3?.stop());

  // What the namespaces have installed: the job's WorkflowTemplate and the generic backfill one.
  const templates = ['batchscore-credit-risk', 'batchscore-backfill'];
  const posts = () => kube.requests.filter((r) => r.method === 'POST');
  const nsOf = (p: { path: string }) => /\/namespaces\/([^/]+)\//.exec(p.path)?.[1];

  it('submit creates a Workflow from the installed template in the job’s namespace and prints its name', async () => {
    kube = await startFakeKube({ templates });
    const r = await runCli(['submit', jobFile, '--date', '2024-02-01', '--kubeconfig', kube.kubeconfigPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(
      kube.requests.filter((q) => q.path.includes('/workflowtemplates/')).map((q) => `${q.method} ${q.path}`),
    ).toEqual(['GET /apis/argoproj.io/v1alpha1/namespaces/scoring/workflowtemplates/batchscore-credit-risk']);
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.path).toBe('/apis/argoproj.io/v1alpha1/namespaces/scoring/workflows');
    const job = await readJobFile(jobFile);
    expect(posts()[0]!.body).toEqual(renderWorkflowFromTemplate(job, '2024-02-01'));
    // Only what templateReferencing: Strict allows: the reference and the arguments.
    expect(Object.keys(posts()[0]!.body.spec).sort()).toEqual(['arguments', 'workflowTemplateRef']);
    expect(r.stderr).toContain('from workflowtemplate/batchscore-credit-risk');
    expect(r.stdout.trim()).toMatch(/^credit-risk-2024-02-01-[a-z0-9]{5}$/);
    expect(kube.workflows.has(r.stdout.trim())).toBe(true);
  });

  it(
    'submit refuses (65) when the template is not installed, saying how to install it, ' +
      'and creates nothing; --inline creates the self-contained Workflow',
    async () => {
      kube = await startFakeKube({ templates: [] });
      const r = await runCli(['submit', jobFile, '--date', '2024-02-01', '--kubeconfig', kube.kubeconfigPath]);
      expect([r.code, r.stderr.trim()]).toEqual([
        65,
        'batchscore: error [NOT_INSTALLED]: workflowtemplate/batchscore-credit-risk is not ' +
          'installed in namespace "scoring"; it is the job\'s WorkflowTemplate: install the ' +
          'job (`helm upgrade --install` with it under jobs:, or `batchscore render JOB.yaml ' +
          '| kubectl apply -n scoring -f -`), or submit a self-contained Workflow with --inline',
      ]);
      expect(posts()).toEqual([]);
      const inline = await runCli([
        'submit',
        jobFile,
        '--date',
        '2024-02-01',
        '--inline',
        '--kubeconfig',
        kube.kubeconfigPath,
      ]);
      expect(inline.code, inline.stderr).toBe(0);
      expect(posts().map((p) => p.body)).toEqual([renderWorkflow(await readJobFile(jobFile), '2024-02-01')]);
    },
  );

  it('submit --dry-run and backfill --dry-run print the Workflow (yaml, or -o json) and send nothing', async () => {
    kube = await startFakeKube({ templates });
    const job = await readJobFile(jobFile);
    const sub = await runCli([
      'submit',
      jobFile,
      '--date',
      '2024-02-01',
      '--dry-run',
      '-o',
      'json',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect(sub.code, sub.stderr).toBe(0);
    expect(JSON.parse(sub.stdout)).toEqual(renderWorkflowFromTemplate(job, '2024-02-01'));
    const bf = await runCli([
      'backfill',
      jobFile,
      '--from',
      '2024-02-01',
      '--to',
      '2024-02-03',
      '--parallel',
      '2',
      '--dry-run',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect(bf.code, bf.stderr).toBe(0);
    expect(parse(bf.stdout)).toEqual(
      renderBackfillWorkflow(job, ['2024-02-01', '2024-02-02', '2024-02-03'], { parallel: 2, skipComplete: false }),
    );
    expect(kube.requests).toEqual([]);
  });

  it(
    '--dry-run=server sends the Workflow with dryRun=All and prints what the API server returned; ' +
      'nothing is created, and -o name prints workflow.argoproj.io/NAME',
    async () => {
      kube = await startFakeKube({ templates });
      const job = await readJobFile(jobFile);
      const args = ['--kubeconfig', kube.kubeconfigPath];
      const sub = await runCli(['submit', jobFile, '--date', '2024-02-01', '--dry-run=server', ...args]);
      expect(sub.code, sub.stderr).toBe(0);
      expect(posts().map((p) => [p.path, p.query.dryRun])).toEqual([
        ['/apis/argoproj.io/v1alpha1/namespaces/scoring/workflows', 'All'],
      ]);
      expect(posts()[0]!.body).toEqual(renderWorkflowFromTemplate(job, '2024-02-01'));
      const returned = parse(sub.stdout);
      expect(returned.metadata.name).toMatch(/^credit-risk-2024-02-01-[a-z0-9]{5}$/);
      expect(returned.spec).toEqual(renderWorkflowFromTemplate(job, '2024-02-01').spec);
      expect(sub.stderr).toContain('server dry run');
      expect(kube.workflows.size).toBe(0);

      const bf = await runCli([
        ...['backfill', jobFile, '--from', '2024-02-01', '--to', '2024-02-02', '--dry-run=server', '-o', 'name'],
        ...args,
      ]);
      expect(bf.code, bf.stderr).toBe(0);
      expect(bf.stdout).toMatch(/^workflow\.argoproj\.io\/batchscore-credit-risk-backfill-[a-z0-9]{5}\n$/);
      expect(posts().map((p) => p.query.dryRun)).toEqual(['All', 'All']);
      expect(kube.workflows.size).toBe(0);

      const created = await runCli(['submit', jobFile, '--date', '2024-02-01', '-o', 'name', ...args]);
      expect(created.code, created.stderr).toBe(0);
      const name = created.stdout.trim().replace('workflow.argoproj.io/', '');
      expect(created.stdout).toBe(`workflow.argoproj.io/${name}\n`);
      expect([...kube.workflows.keys()]).toEqual([name]);

      const bad = await runCli(['submit', jobFile, '--date', '2024-02-01', '--dry-run=maybe', ...args]);
      expect([bad.code, bad.stderr]).toEqual([
        64,
        'batchscore: error [USAGE]: --dry-run "maybe": expected one of client, server, none; ' +
          "see 'batchscore submit --help'\n",
      ]);
    },
  );

  it(
    'backfill creates one Workflow from the installed batchscore-backfill template, given ' +
      'the job, the dates and K, and exits',
    async () => {
      kube = await startFakeKube({ templates });
      const r = await runCli([
        'backfill',
        jobFile,
        '--from',
        '2024-02-28',
        '--to',
        '2024-03-01',
        '--parallel',
        '5',
        '--skip-complete',
        '--kubeconfig',
        kube.kubeconfigPath,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(posts()).toHaveLength(1);
      const body = posts()[0]!.body;
      expect(body.spec).toEqual({
        workflowTemplateRef: { name: 'batchscore-backfill' },
        arguments: {
          parameters: [
            { name: 'job', value: 'credit-risk' },
            { name: 'dates', value: '["2024-02-28","2024-02-29","2024-03-01"]' },
            { name: 'parallel', value: '3' },
            { name: 'skip-complete', value: 'true' },
          ],
        },
      });
      expect([r.stdout.trim()]).toEqual([...kube.workflows.keys()]);
      // Without the generic template it says how to install it.
      const none = await startFakeKube({ templates: ['batchscore-credit-risk'] });
      try {
        const missing = await runCli([
          'backfill',
          jobFile,
          '--from',
          '2024-02-28',
          '--to',
          '2024-03-01',
          '--kubeconfig',
          none.kubeconfigPath,
        ]);
        expect(missing.code).toBe(65);
        expect(missing.stderr).toContain(
          'workflowtemplate/batchscore-backfill is not installed in namespace "scoring"',
        );
        expect(none.requests.filter((q) => q.method === 'POST')).toEqual([]);
      } finally {
        await none.stop();
      }
    },
  );

  it('--namespace overrides the job’s namespace in the path and the object', async () => {
    kube = await startFakeKube({ templates });
    const r = await runCli([
      'submit',
      jobFile,
      '--date',
      '2024-02-01',
      '--namespace',
      'team-b',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(posts()[0]!.path).toBe('/apis/argoproj.io/v1alpha1/namespaces/team-b/workflows');
    expect(posts()[0]!.body.metadata.namespace).toBe('team-b');
  });

  it('-n is --namespace', async () => {
    kube = await startFakeKube({ templates });
    const r = await runCli([
      'submit',
      jobFile,
      '--date',
      '2024-02-01',
      '-n',
      'team-b',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(posts().map((p) => [nsOf(p), p.body.metadata.namespace])).toEqual([['team-b', 'team-b']]);
  });

  // kubectl's order, with the job's namespace where an object's own would be: -n, spec.cluster.namespace,
  // the context's namespace (--context's, else current-context's), default.
  it.each([
    ['-n over the job and the context', ['-n', 'team-b'], 'job', 'team-b'],
    ['the job over the context', [], 'job', 'scoring'],
    ['the current context’s namespace', [], 'no-ns job', 'batch'],
    ['--context’s namespace', ['--context', 'other'], 'no-ns job', 'other-ns'],
    ['-n over --context', ['--context', 'other', '-n', 'team-c'], 'no-ns job', 'team-c'],
    ['default when the context has none', ['--context', 'no-namespace'], 'no-ns job', 'default'],
  ])('submit picks the namespace: %s', async (_what, flags, which, ns) => {
    kube = await startFakeKube({ templates });
    const file = which === 'job' ? jobFile : noNsJobFile;
    const r = await runCli(['submit', file, '--date', '2024-02-01', ...flags, '--kubeconfig', kube.kubeconfigPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(posts().map((p) => [nsOf(p), p.body.metadata.namespace])).toEqual([[ns, ns]]);
  });

  it('backfill picks the namespace as submit does: -n, then the context’s', async () => {
    kube = await startFakeKube({
      templates,
      onCreate: (wf) => setTimeout(() => kube.setPhase(wf.metadata.name, 'Succeeded'), 50),
    });
    const fromContext = await runCli([
      'backfill',
      noNsJobFile,
      '--from',
      '2024-03-01',
      '--to',
      '2024-03-01',
      '--client',
      '--context',
      'other',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect(fromContext.code, fromContext.stderr).toBe(0);
    const fromFlag = await runCli([
      'backfill',
      noNsJobFile,
      '--from',
      '2024-03-02',
      '--to',
      '2024-03-02',
      '--client',
      '-n',
      'team-d',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect(fromFlag.code, fromFlag.stderr).toBe(0);
    expect(posts().map((p) => [nsOf(p), p.body.metadata.namespace])).toEqual([
      ['other-ns', 'other-ns'],
      ['team-d', 'team-d'],
    ]);
    expect(
      kube.requests.filter((q) => q.method === 'GET').every((q) => ['other-ns', 'team-d'].includes(nsOf(q)!)),
    ).toBe(true);
  });

  it('usage errors are one line naming the option: a bad -n value, a missing value, an unknown option', async () => {
    kube = await startFakeKube({ templates });
    const bad = await runCli([
      'submit',
      jobFile,
      '--date',
      '2024-02-01',
      '-n',
      'Team_B',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      64,
      'batchscore: error [USAGE]: --namespace "Team_B": expected a namespace name (lowercase ' +
        "letters, digits and '-', at most 63 characters); see 'batchscore submit --help'",
    ]);
    const missing = await runCli([
      'submit',
      jobFile,
      '--date',
      '2024-02-01',
      '--kubeconfig',
      kube.kubeconfigPath,
      '-n',
    ]);
    expect([missing.code, missing.stderr.trim()]).toEqual([
      64,
      "batchscore: error [USAGE]: --namespace needs a value; see 'batchscore submit --help'",
    ]);
    const unknown = await runCli([
      'submit',
      jobFile,
      '--date',
      '2024-02-01',
      '-x',
      '--kubeconfig',
      kube.kubeconfigPath,
    ]);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      64,
      'batchscore: error [USAGE]: unknown option -x; this command takes --date, --skip-complete, --inline, ' +
        "--image, --watch, --dry-run, -o/--output, -n/--namespace, --kubeconfig, --context; see 'batchscore " +
        "submit --help'",
    ]);
    expect(posts()).toEqual([]);
  });

  it.each([
    ['Succeeded', 0],
    ['Failed', 65],
  ])('--watch follows the run to %s and exits %i', async (final, code) => {
    kube = await startFakeKube({
      templates,
      onCreate: (wf) => {
        const name = wf.metadata.name;
        setTimeout(() => kube.setPhase(name, 'Running'), 100);
        setTimeout(() => kube.setPhase(name, final, { message: final === 'Failed' ? 'child failed' : undefined }), 400);
      },
    });
    const r = await runCli(['submit', jobFile, '--date', '2024-02-01', '--watch', '--kubeconfig', kube.kubeconfigPath]);
    expect(r.code, r.stderr).toBe(code);
    const name = r.stdout.trim();
    expect(r.stderr).toContain(`batchscore: ${name} Running`);
    expect(r.stderr).toContain(
      final === 'Succeeded' ? `batchscore: ${name} Succeeded` : `workflow ${name} ended Failed: child failed`,
    );
    expect(
      kube.requests.some(
        (q) => q.method === 'GET' && q.query.watch === 'true' && q.query.fieldSelector === `metadata.name=${name}`,
      ),
    ).toBe(true);
  });

  it(
    'backfill --client submits one Workflow per date in order, at most --parallel at ' +
      'once, skipping complete dates',
    async () => {
      const sha = sha256Hex(await readFile(CREDIT_MODEL));
      const out = new S3Store({ bucket, prefix: 'scores/', client: s3.client });
      // 2024-03-02 is complete for this model; 2024-03-03 is complete for another model and must be rescored. (No
      // files published: nothing to find damaged.)
      const manifest = (date: string, sha256: string) =>
        JSON.stringify({
          status: 'complete',
          model: { sha256 },
          files: [],
          output: { uri: out.uriOf(`batch_date=${date}/model_version=v3/`) },
          quarantine: { uri: out.uriOf(`_quarantine/batch_date=${date}/model_version=v3/`), files: [] },
        });
      await out.put('batch_date=2024-03-02/model_version=v3/_batch_manifest.json', manifest('2024-03-02', sha));
      await out.put(
        'batch_date=2024-03-03/model_version=v3/_batch_manifest.json',
        manifest('2024-03-03', 'f'.repeat(64)),
      );
      let running = 0;
      let maxRunning = 0;
      kube = await startFakeKube({
        templates,
        onCreate: (wf) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          const date = wf.metadata.labels['batchscore.dev/date'];
          setTimeout(() => {
            running--;
            kube.setPhase(wf.metadata.name, date === '2024-03-04' ? 'Failed' : 'Succeeded');
          }, 300);
        },
      });
      const r = await runCli(
        [
          'backfill',
          jobFile,
          '--from',
          '2024-03-01',
          '--to',
          '2024-03-05',
          '--parallel',
          '2',
          '--skip-complete',
          '--client',
          '--kubeconfig',
          kube.kubeconfigPath,
        ],
        {
          env: s3Env(s3.endpoint),
        },
      );
      expect(r.code, r.stderr).toBe(65);
      expect(posts().map((p) => p.body.metadata.labels['batchscore.dev/date'])).toEqual([
        '2024-03-01',
        '2024-03-03',
        '2024-03-04',
        '2024-03-05',
      ]);
      expect(maxRunning).toBe(2);
      expect(
        r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t').slice(0, 2).join(' ')),
      ).toEqual([
        '2024-03-01 succeeded',
        '2024-03-02 skipped',
        '2024-03-03 succeeded',
        '2024-03-04 failed',
        '2024-03-05 succeeded',
      ]);
      expect(r.stderr).toContain('3 succeeded, 1 failed, 1 skipped');
    },
  );
});

describe('batchscore render: namespace and secrets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-render-'));
  });
  const jobWith = async (name: string, extra: string) => {
    const f = path.join(dir, `${name}.yaml`);
    await writeFile(
      f,
      `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: churn}
spec:
  input: {uri: "s3://data/in/{date}/"}
  model:
    uri: "s3://models/churn.onnx"
    version: v1
    inputs: [{name: x, columns: [a]}]
    outputs: [{name: p, column: s}]
  output: {uri: "s3://out/"}
${extra}`,
    );
    return f;
  };

  it('writes no namespace unless asked for, and -n/--namespace when asked', async () => {
    const f = await jobWith('plain', '');
    const none = await runCli(['render', f, '--date', '2024-01-15']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).not.toContain('namespace:');
    for (const flag of ['-n', '--namespace']) {
      const r = await runCli(['render', f, '--kind', 'workflowtemplate', flag, 'team']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('\n  namespace: team\n');
    }
  });

  it('refuses a plain webhook URL (exit 65, one line); run --local may still use one', async () => {
    const f = await jobWith('hook', '  notify: {webhook: {url: "https://hooks.slack.com/services/T0/B0/XYZ"}}\n');
    const r = await runCli(['render', f, '--date', '2024-01-15']);
    expect([r.code, r.stdout, r.stderr.trim()]).toEqual([
      65,
      '',
      'batchscore: error [SPEC_INVALID]: spec.notify.webhook.url: a plain webhook URL would ' +
        'be copied into every pod of the rendered YAML, and chat webhooks carry their token ' +
        'in it; ' +
        'to render for a cluster use spec.notify.webhook.urlFromEnv with spec.cluster.webhookSecret ' +
        '(see manifests/webhook-secret.example.yaml)',
    ]);
  });
});
