/**
 * The Kubernetes client code against a fake API server (test/support/fakeKube.ts): real HTTP through
 * @kubernetes/client-node, with assertions on the requests the server saw.
 */
import { gzipSync } from 'node:zlib';
import * as net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { BatchscoreError, exitCodeFor } from '@batchscore/core';
import {
  backfill,
  countShards,
  dateRange,
  kubeNamespace,
  resolveNamespace,
  loadKubeConfig,
  submitWorkflow,
  watchWorkflow,
  workflowStatus,
  workflowsApi,
  type ArgoNode,
  type BackfillEvent,
  type KubeObject,
  type WorkflowStatus,
  type WorkflowsApi,
} from '../../packages/coordinator/src/kube/index.js';
import { startFakeKube, type FakeKube } from '../support/fakeKube.js';

const NS = 'batch';
const WF_PATH = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/workflows`;
const FINAL = ['Succeeded', 'Failed', 'Error'];

function workflow(date: string, extra: { name?: string; shards?: number } = {}): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      ...(extra.name ? { name: extra.name } : { generateName: `credit-risk-${date}-` }),
      labels: { 'batchscore.dev/job': 'credit-risk', 'batchscore.dev/date': date },
      ...(extra.shards !== undefined ? { annotations: { 'batchscore.dev/shards': String(extra.shards) } } : {}),
    },
    spec: {
      entrypoint: 'main',
      arguments: { parameters: [{ name: 'date', value: date }] },
      templates: [
        {
          name: 'main',
          dag: {
            tasks: [
              { name: 'plan', template: 'plan' },
              {
                name: 'score',
                template: 'score',
                depends: 'plan',
                withSequence: { count: '{{tasks.plan.outputs.parameters.shards}}' },
              },
              { name: 'merge', template: 'merge', depends: 'score' },
            ],
          },
        },
        { name: 'plan', container: { image: 'batchscore:test', args: ['plan'] } },
        {
          name: 'score',
          retryStrategy: { limit: '2' },
          container: { image: 'batchscore:test', args: ['score', '{{item}}'] },
        },
        { name: 'merge', container: { image: 'batchscore:test', args: ['merge'] } },
      ],
    },
  };
}

type ShardSpec = string | string[]; // a pod's phase, or the phases of successive retry attempts

/**
 * status.nodes the way Argo builds them for the rendered DAG (plan → score withSequence → merge, each with a
 * retryStrategy): a DAG node; `wf.plan` (a Retry node whose Succeeded attempt `wf.plan(0)` outputs `shards`, and
 * `pods` when given);
 * one node per shard named `wf.score(i:i)`: a Retry node with attempt pods `wf.score(i:i)(n)` when given a
 * list of phases, a bare Pod when given one phase; and a merge pod that must not count.
 */
function argoNodes(
  wf: string,
  shards: ShardSpec[],
  opts: { merge?: string; planned?: number; pods?: number } = {},
): Record<string, ArgoNode> {
  const nodes: Record<string, ArgoNode> = {};
  const add = (id: string, n: ArgoNode) => {
    nodes[id] = { id, ...n };
    return id;
  };
  const top: string[] = [];
  if (opts.planned !== undefined) {
    const outputs = {
      parameters: [
        { name: 'shards', value: String(opts.planned) },
        ...(opts.pods !== undefined ? [{ name: 'pods', value: String(opts.pods) }] : []),
      ],
    };
    const pod = add(`${wf}-11`, {
      name: `${wf}.plan(0)`,
      displayName: 'plan(0)',
      type: 'Pod',
      templateName: 'plan',
      phase: 'Succeeded',
      outputs,
    });
    top.push(
      add(`${wf}-10`, {
        name: `${wf}.plan`,
        displayName: 'plan',
        type: 'Retry',
        templateName: 'plan',
        phase: 'Succeeded',
        outputs,
        children: [pod],
      }),
    );
  }
  shards.forEach((spec, i) => {
    const name = `${wf}.score(${i}:${i})`;
    if (typeof spec === 'string') {
      top.push(
        add(`${wf}-${100 + i}`, {
          name,
          displayName: `score(${i}:${i})`,
          type: 'Pod',
          templateName: 'score',
          phase: spec,
        }),
      );
    } else {
      const attempts = spec.map((phase, a) =>
        add(`${wf}-${200 + i * 10 + a}`, {
          name: `${name}(${a})`,
          displayName: `score(${i}:${i})(${a})`,
          type: 'Pod',
          templateName: 'score',
          phase,
        }),
      );
      const last = spec[spec.length - 1]!;
      const phase = last === 'Succeeded' ? 'Succeeded' : last === 'Failed' && spec.length >= 3 ? 'Failed' : 'Running';
      top.push(
        add(`${wf}-${300 + i}`, {
          name,
          displayName: `score(${i}:${i})`,
          type: 'Retry',
          templateName: 'score',
          phase,
          children: attempts,
        }),
      );
    }
  });
  if (opts.merge) {
    top.push(
      add(`${wf}-900`, {
        name: `${wf}.merge`,
        displayName: 'merge',
        type: 'Pod',
        templateName: 'merge',
        phase: opts.merge,
      }),
    );
  }
  add(wf, { name: wf, displayName: wf, type: 'DAG', templateName: 'main', phase: 'Running', children: top });
  return nodes;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function expectError(p: Promise<unknown>): Promise<BatchscoreError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BatchscoreError);
    return err as BatchscoreError;
  }
  throw new Error('expected a BatchscoreError, but it resolved');
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function apiAt(server: string, token = 'whatever', opts = {}): WorkflowsApi {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return workflowsApi(kc, opts);
}

let fake: FakeKube;
let api: WorkflowsApi;

beforeEach(async () => {
  fake = await startFakeKube();
  api = workflowsApi(loadKubeConfig({ kubeconfig: fake.kubeconfigPath }));
});
afterEach(async () => {
  await fake.stop();
});

describe('loadKubeConfig', () => {
  it('reads the file, its current context and namespace, and switches context on request', () => {
    const kc = loadKubeConfig({ kubeconfig: fake.kubeconfigPath });
    expect(kc.getCurrentCluster()?.server).toBe(fake.url);
    expect(kubeNamespace(kc)).toBe('batch');
    expect(kubeNamespace(loadKubeConfig({ kubeconfig: fake.kubeconfigPath, context: 'other' }))).toBe('other-ns');
    expect(kubeNamespace(loadKubeConfig({ kubeconfig: fake.kubeconfigPath, context: 'no-namespace' }))).toBeUndefined();
  });

  it('resolveNamespace: -n, then the job, then the context, then default (kubectl’s order)', () => {
    expect(resolveNamespace({ flag: 'a', job: 'b', context: 'c' })).toEqual({ namespace: 'a', from: '--namespace' });
    expect(resolveNamespace({ job: 'b', context: 'c' })).toEqual({ namespace: 'b', from: 'spec.cluster.namespace' });
    expect(resolveNamespace({ context: 'c' })).toEqual({ namespace: 'c', from: 'kubeconfig context' });
    expect(resolveNamespace({ context: '' })).toEqual({ namespace: 'default', from: 'default' });
    expect(resolveNamespace({})).toEqual({ namespace: 'default', from: 'default' });
  });

  it('honours KUBECONFIG by default', () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = fake.kubeconfigPath;
    try {
      expect(loadKubeConfig().getCurrentCluster()?.server).toBe(fake.url);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('fails with USAGE for an unknown context or a missing file', () => {
    expect(() => loadKubeConfig({ kubeconfig: fake.kubeconfigPath, context: 'nope' })).toThrow(
      /no context "nope" \(it has: fake, other, no-namespace\)/,
    );
    try {
      loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' });
      expect.unreachable();
    } catch (err) {
      expect((err as BatchscoreError).code).toBe('USAGE');
      expect((err as Error).message).toContain('/nonexistent/kubeconfig');
    }
  });
});

describe('submitWorkflow', () => {
  it('POSTs the workflow once, as given, to the namespace and returns the generated name', async () => {
    const wf = workflow('2024-03-01');
    const sent = structuredClone(wf);
    const got = await submitWorkflow(api, NS, wf);

    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe(WF_PATH);
    expect(req!.headers.authorization).toBe(`Bearer ${fake.token}`);
    expect(req!.body).toEqual(sent);
    expect(req!.body.metadata.generateName).toBe('credit-risk-2024-03-01-');
    expect(req!.body.metadata.name).toBeUndefined();

    expect(got.name).toMatch(/^credit-risk-2024-03-01-[a-z0-9]{5}$/);
    expect(got.namespace).toBe(NS);
    expect(got.uid).toBe(fake.workflows.get(got.name).metadata.uid);
    expect(wf).toEqual(sent); // not modified
  });

  it('lists by label selector', async () => {
    const a = await submitWorkflow(api, NS, workflow('2024-03-01'));
    await submitWorkflow(api, NS, workflow('2024-03-02'));
    const items = await api.list(NS, 'batchscore.dev/job=credit-risk,batchscore.dev/date=2024-03-01');
    expect(items.map((o) => o.metadata?.name)).toEqual([a.name]);
    const last = fake.requests.at(-1)!;
    expect(last.method).toBe('GET');
    expect(last.path).toBe(WF_PATH);
    expect(last.query.labelSelector).toBe('batchscore.dev/job=credit-risk,batchscore.dev/date=2024-03-01');
    expect(await api.list(NS)).toHaveLength(2);
  });
});

describe('error mapping', () => {
  it('409 AlreadyExists → KUBE_CONFLICT, permanent, naming the workflow, namespace and server', async () => {
    await submitWorkflow(api, NS, workflow('2024-03-01', { name: 'credit-risk-2024-03-01' }));
    const err = await expectError(submitWorkflow(api, NS, workflow('2024-03-01', { name: 'credit-risk-2024-03-01' })));
    expect(err.code).toBe('KUBE_CONFLICT');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('"credit-risk-2024-03-01"');
    expect(err.message).toContain(`namespace "${NS}"`);
    expect(err.message).toContain(fake.url);
    expect(err.message).toContain('already exists');
  });

  it('403 → KUBE_DENIED naming verb, resource and namespace, suggesting RBAC', async () => {
    fake.behaviour = (r) => (r.method === 'POST' ? { status: 403 } : undefined);
    const err = await expectError(submitWorkflow(api, NS, workflow('2024-03-01')));
    expect(err.code).toBe('KUBE_DENIED');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/cannot create workflows\.argoproj\.io in namespace "batch"/);
    expect(err.message).toContain('RBAC');
    expect(err.message).toContain(fake.url);
  });

  it('401 (bad token) → KUBE_DENIED', async () => {
    const err = await expectError(apiAt(fake.url, 'wrong-token').get(NS, 'x'));
    expect(err.code).toBe('KUBE_DENIED');
    expect(err.message).toContain('401');
  });

  it('500 and 503 → KUBE_UNAVAILABLE, retryable', async () => {
    fake.behaviour = (r) => (r.method === 'POST' ? { status: 500 } : { status: 503 });
    const err = await expectError(submitWorkflow(api, NS, workflow('2024-03-01')));
    expect(err.code).toBe('KUBE_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('500');
    const err2 = await expectError(api.get(NS, 'x'));
    expect(err2.code).toBe('KUBE_UNAVAILABLE');
    expect(err2.retryable).toBe(true);
  });

  it('404 on get → KUBE_NOT_FOUND for the workflow; 404 on create → hints at missing CRDs', async () => {
    const err = await expectError(api.get(NS, 'missing'));
    expect(err.code).toBe('KUBE_NOT_FOUND');
    expect(err.message).toContain('"missing"');
    expect(err.message).toContain('does not exist');

    fake.behaviour = () => ({
      status: 404,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: 'the server could not find the requested resource',
        reason: 'NotFound',
        code: 404,
      },
    });
    const err2 = await expectError(submitWorkflow(api, NS, workflow('2024-03-01')));
    expect(err2.code).toBe('KUBE_NOT_FOUND');
    expect(err2.message).toContain(`namespace "${NS}"`);
    expect(err2.message).toMatch(/CRDs .* may not be installed/);
  });

  it('connection refused and no answer in time → KUBE_UNAVAILABLE naming the server', async () => {
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const err = await expectError(apiAt(dead).get(NS, 'x'));
    expect(err.code).toBe('KUBE_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).toContain(dead);

    fake.behaviour = () => ({ delayMs: 2000 });
    const slow = apiAt(fake.url, fake.token, { requestTimeoutMs: 100 });
    const t0 = Date.now();
    const err2 = await expectError(slow.get(NS, 'x'));
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(err2.code).toBe('KUBE_UNAVAILABLE');
    expect(err2.message).toContain('no answer within 100 ms');
  });

  it('a 403 on the watch → watchWorkflow rejects KUBE_DENIED', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01'));
    fake.behaviour = (r) => (r.query.watch === 'true' ? { status: 403 } : undefined);
    const err = await expectError(watchWorkflow(api, NS, name, () => {}, { pollMs: 0 }));
    expect(err.code).toBe('KUBE_DENIED');
    expect(err.message).toContain('watch');
  });
});

describe('shard counting', () => {
  it('counts each shard once across retry attempts, ignores other templates', () => {
    const nodes = argoNodes('wf', ['Succeeded', ['Failed', 'Succeeded'], ['Failed', 'Running'], 'Pending'], {
      merge: 'Pending',
    });
    expect(countShards(nodes)).toEqual({ done: 2, total: 4, doneItems: [0, 1] });
  });

  it('falls back to stripping the attempt suffix when nodes carry no children', () => {
    const nodes = argoNodes('wf', ['Succeeded', ['Failed', 'Failed', 'Succeeded'], ['Running']]);
    for (const n of Object.values(nodes)) delete n.children;
    expect(countShards(nodes)).toEqual({ done: 2, total: 3, doneItems: [0, 1] });
  });

  it('with strides (the plan wrote `pods`), a Succeeded score pod counts for every shard of its stride', () => {
    // 7 shards over 3 pods: pod 0 scores 0, 3, 6; pod 1 scores 1, 4; pod 2 scores 2, 5.
    const nodes = argoNodes('wf', [['Succeeded'], ['Failed', 'Running'], ['Succeeded']], { planned: 7, pods: 3 });
    expect(workflowStatus({ metadata: { name: 'wf' }, status: { phase: 'Running', nodes } })).toMatchObject({
      shardsDone: 5,
      shardsTotal: 7,
    });
    const all = argoNodes('wf', [['Succeeded'], ['Failed', 'Succeeded'], ['Succeeded']], { planned: 7, pods: 3 });
    expect(workflowStatus({ metadata: { name: 'wf' }, status: { phase: 'Succeeded', nodes: all } })).toMatchObject({
      shardsDone: 7,
      shardsTotal: 7,
    });
    // Without a `pods` output (a Workflow rendered before strides), each score pod is one shard.
    expect(
      workflowStatus({
        metadata: { name: 'wf' },
        status: { phase: 'Running', nodes: argoNodes('wf', [['Succeeded'], ['Running']], { planned: 2 }) },
      }),
    ).toMatchObject({ shardsDone: 1, shardsTotal: 2 });
  });

  it('names the Nodes the scoring pods were bound to (hostNodeName), once each, sorted', () => {
    const nodes = argoNodes('wf', ['Succeeded', ['Failed', 'Succeeded'], 'Running']);
    const hosts = ['gpu-node-2', 'gpu-node-1', 'gpu-node-2', 'gpu-node-1'];
    for (const n of Object.values(nodes))
      if (n.type === 'Pod' && n.templateName === 'score') n.hostNodeName = hosts.shift();
    expect(workflowStatus({ metadata: { name: 'wf' }, status: { phase: 'Running', nodes } }).scoreNodes).toEqual([
      'gpu-node-1',
      'gpu-node-2',
    ]);
  });

  it('reads status.compressedNodes and takes the total from the shards annotation', () => {
    const nodes = argoNodes('wf', ['Succeeded', 'Running']);
    const st = workflowStatus({
      metadata: { name: 'wf', annotations: { 'batchscore.dev/shards': '10' } },
      status: {
        phase: 'Running',
        progress: '1/3',
        compressedNodes: gzipSync(JSON.stringify(nodes)).toString('base64'),
      },
    });
    expect(st).toEqual({
      name: 'wf',
      phase: 'Running',
      progress: '1/3',
      shardsDone: 1,
      shardsTotal: 10,
      scoreNodes: [],
    });
    expect(workflowStatus({ metadata: { name: 'new' } })).toEqual({
      name: 'new',
      phase: 'Pending',
      shardsDone: 0,
      shardsTotal: null,
      scoreNodes: [],
    });
  });
});

describe('watchWorkflow', () => {
  it('follows Pending → Running → Succeeded, reporting shard progress', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01'));
    const createdRv = fake.workflows.get(name).metadata.resourceVersion as string;
    const updates: WorkflowStatus[] = [];
    const done = watchWorkflow(api, NS, name, (s) => updates.push(s), { pollMs: 0 });

    await waitFor(() => fake.openWatches() === 1, 'the watch to open');
    const steps: [string, Record<string, unknown>][] = [
      ['Pending', {}],
      // plan running: no shard count yet
      ['Running', { progress: '0/1', nodes: argoNodes(name, []) }],
      // plan said 4 shards; Argo has started 2 of them (parallelism 2)
      ['Running', { progress: '1/3', nodes: argoNodes(name, [['Running'], ['Running']], { planned: 4 }) }],
      // shard 1 failed once and is being retried
      [
        'Running',
        {
          progress: '2/5',
          nodes: argoNodes(name, [['Succeeded'], ['Failed', 'Running'], ['Running']], { planned: 4 }),
        },
      ],
      [
        'Running',
        {
          progress: '5/7',
          nodes: argoNodes(name, [['Succeeded'], ['Failed', 'Succeeded'], ['Succeeded'], ['Succeeded']], {
            planned: 4,
            merge: 'Running',
          }),
        },
      ],
      [
        'Succeeded',
        {
          progress: '6/7',
          nodes: argoNodes(name, [['Succeeded'], ['Failed', 'Succeeded'], ['Succeeded'], ['Succeeded']], {
            planned: 4,
            merge: 'Succeeded',
          }),
        },
      ],
    ];
    for (const [phase, extra] of steps) {
      fake.setPhase(name, phase, extra);
      await sleep(10);
    }
    const final = await done;

    expect(final.phase).toBe('Succeeded');
    expect(final.shardsDone).toBe(4);
    expect(final.shardsTotal).toBe(4);
    expect(final.finishedAt).toBeDefined();
    // The first update is the get (no status yet: Pending); the duplicate Pending event is not reported again.
    expect(updates.map((u) => [u.phase, u.shardsDone, u.shardsTotal, u.progress])).toEqual([
      ['Pending', 0, null, undefined],
      ['Running', 0, null, '0/1'],
      ['Running', 0, 4, '1/3'],
      ['Running', 1, 4, '2/5'],
      ['Running', 4, 4, '5/7'],
      ['Succeeded', 4, 4, '6/7'],
    ]);

    const gets = fake.requests.filter((r) => r.method === 'GET' && r.path === `${WF_PATH}/${name}`);
    expect(gets).toHaveLength(1);
    const watches = fake.requests.filter((r) => r.query.watch === 'true');
    expect(watches).toHaveLength(1);
    expect(watches[0]!.path).toBe(WF_PATH);
    expect(watches[0]!.query.fieldSelector).toBe(`metadata.name=${name}`);
    expect(watches[0]!.query.resourceVersion).toBe(createdRv); // from the get, so no event is missed or replayed
    await waitFor(() => fake.openWatches() === 0, 'the watch to be closed by the client');
  });

  it('resolves (does not reject) with Failed and the message for a failed run', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01', { shards: 3 }));
    const done = watchWorkflow(api, NS, name, () => {}, { pollMs: 0 });
    await waitFor(() => fake.openWatches() === 1, 'the watch to open');
    fake.setPhase(name, 'Running', { nodes: argoNodes(name, ['Succeeded', ['Failed'], 'Running']) });
    await sleep(10);
    fake.setPhase(name, 'Failed', {
      message: 'child "x" failed',
      nodes: argoNodes(name, ['Succeeded', ['Failed', 'Failed', 'Failed'], 'Succeeded']),
    });
    const st = await done;
    expect(st).toMatchObject({ phase: 'Failed', message: 'child "x" failed', shardsDone: 2, shardsTotal: 3 });
  });

  it('resolves at once for a workflow that has already finished', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01'));
    fake.setPhase(name, 'Error', { message: 'boom' });
    const st = await watchWorkflow(api, NS, name, () => {}, { pollMs: 0 });
    expect(st.phase).toBe('Error');
    expect(fake.requests.filter((r) => r.query.watch === 'true')).toHaveLength(0);
  });

  it('re-gets and re-watches from the last resourceVersion when the server ends the watch', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01'));
    const done = watchWorkflow(api, NS, name, () => {}, { pollMs: 0, retryDelayMs: 10 });
    await waitFor(() => fake.openWatches() === 1, 'the watch to open');
    fake.setPhase(name, 'Running');
    await sleep(20);
    const rvAfterRunning = fake.workflows.get(name).metadata.resourceVersion;
    fake.closeWatches();
    await waitFor(
      () => fake.requests.filter((r) => r.query.watch === 'true').length === 2 && fake.openWatches() === 1,
      'the second watch',
    );
    fake.setPhase(name, 'Succeeded');
    expect((await done).phase).toBe('Succeeded');

    const watches = fake.requests.filter((r) => r.query.watch === 'true');
    expect(watches[1]!.query.resourceVersion).toBe(rvAfterRunning);
    expect(watches[1]!.query.fieldSelector).toBe(`metadata.name=${name}`);
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path === `${WF_PATH}/${name}`)).toHaveLength(2);
  });

  it('after 410 Gone, watches again from now instead of the expired resourceVersion', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01'));
    const createdRv = Number(fake.workflows.get(name).metadata.resourceVersion);
    fake.expireBefore = createdRv + 1; // the object's own resourceVersion is already compacted away
    const done = watchWorkflow(api, NS, name, () => {}, { pollMs: 0, retryDelayMs: 5 });
    await waitFor(() => fake.openWatches() === 1, 'a watch that stays open');
    fake.setPhase(name, 'Succeeded');
    expect((await done).phase).toBe('Succeeded');
    const watches = fake.requests.filter((r) => r.query.watch === 'true');
    expect(watches.map((w) => w.query.resourceVersion)).toEqual([String(createdRv), undefined]);
  });

  it('gives up with KUBE_UNAVAILABLE after bounded retries when the API server keeps failing', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01'));
    fake.behaviour = (r) => (r.query.watch === 'true' ? { status: 500 } : undefined);
    const err = await expectError(
      watchWorkflow(api, NS, name, () => {}, { pollMs: 0, maxRetries: 2, retryDelayMs: 5 }),
    );
    expect(err.code).toBe('KUBE_UNAVAILABLE');
    expect(err.message).toContain('3 failed attempts');
    expect(fake.requests.filter((r) => r.query.watch === 'true')).toHaveLength(3);
  });

  it('rejects WORKFLOW_FAILED when the workflow is deleted, and RUN_INCOMPLETE (66) on timeout', async () => {
    const a = await submitWorkflow(api, NS, workflow('2024-03-01'));
    const done = watchWorkflow(api, NS, a.name, () => {}, { pollMs: 0 });
    await waitFor(() => fake.openWatches() === 1, 'the watch to open');
    fake.remove(a.name);
    const err = await expectError(done);
    expect(err.code).toBe('WORKFLOW_FAILED');
    expect(err.message).toContain('deleted');

    const b = await submitWorkflow(api, NS, workflow('2024-03-02'));
    const err2 = await expectError(watchWorkflow(api, NS, b.name, () => {}, { pollMs: 0, timeoutMs: 100 }));
    expect(err2.code).toBe('RUN_INCOMPLETE');
    expect(exitCodeFor(err2)).toBe(66);
    expect(err2.message).toContain('keeps running');
  });

  it('notices the end through polling when the watch stalls', async () => {
    const { name } = await submitWorkflow(api, NS, workflow('2024-03-01'));
    fake.behaviour = (r) => (r.query.watch === 'true' ? { delayMs: 60_000 } : undefined);
    const done = watchWorkflow(api, NS, name, () => {}, { pollMs: 20 });
    await sleep(30);
    fake.setPhase(name, 'Succeeded');
    expect((await done).phase).toBe('Succeeded');
  });
});

describe('backfill', () => {
  it(
    'runs 5 dates with parallel 2: in date order, never more than 2 unfinished, skipping ' +
      'complete dates, reporting failures',
    async () => {
      const dates = dateRange('2024-02-27', '2024-03-02'); // crosses a leap day
      expect(dates).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02']);
      const complete = new Set(['2024-02-28']);
      const failing = new Set(['2024-03-01']);

      const unfinishedAtPost: number[] = [];
      fake.behaviour = (r) => {
        if (r.method === 'POST') {
          unfinishedAtPost.push([...fake.workflows.values()].filter((w) => !FINAL.includes(w.status?.phase)).length);
        }
        return undefined;
      };
      // Play the Argo controller: each workflow runs a while, then ends.
      fake.onCreate = (wf) => {
        const name = wf.metadata.name as string;
        const date = wf.metadata.labels['batchscore.dev/date'] as string;
        setTimeout(() => fake.setPhase(name, 'Running', { nodes: argoNodes(name, ['Running', 'Pending']) }), 10);
        setTimeout(
          () =>
            failing.has(date)
              ? fake.setPhase(name, 'Failed', {
                  message: 'pod score(1:1) exited 65',
                  nodes: argoNodes(name, ['Succeeded', ['Failed', 'Failed', 'Failed']]),
                })
              : fake.setPhase(name, 'Succeeded', { nodes: argoNodes(name, ['Succeeded', 'Succeeded']) }),
          40,
        );
      };

      const events: BackfillEvent[] = [];
      const checked: string[] = [];
      const res = await backfill({
        api,
        namespace: NS,
        dates,
        parallel: 2,
        makeWorkflow: (d) => workflow(d),
        isComplete: async (d) => {
          checked.push(d);
          return complete.has(d);
        },
        onEvent: (e) => events.push(e),
        pollMs: 25,
      });

      // Server's view at each POST: at most 1 other unfinished workflow, so at most 2 with the new one...
      expect(unfinishedAtPost).toHaveLength(4);
      expect(Math.max(...unfinishedAtPost)).toBeLessThanOrEqual(1);
      // ...and the slots were really used in parallel.
      expect(Math.max(...unfinishedAtPost)).toBe(1);

      const posts = fake.requests.filter((r) => r.method === 'POST');
      expect(posts.map((p) => p.body.metadata.labels['batchscore.dev/date'])).toEqual([
        '2024-02-27',
        '2024-02-29',
        '2024-03-01',
        '2024-03-02',
      ]);
      expect(posts.every((p) => p.path === WF_PATH)).toBe(true);
      expect(checked).toEqual(dates);

      expect(res.dates.map((d) => [d.date, d.status])).toEqual([
        ['2024-02-27', 'succeeded'],
        ['2024-02-28', 'skipped'],
        ['2024-02-29', 'succeeded'],
        ['2024-03-01', 'failed'],
        ['2024-03-02', 'succeeded'],
      ]);
      expect(res).toMatchObject({ succeeded: 3, failed: 1, skipped: 1 });
      const failed = res.dates[3]!;
      expect(failed.name).toMatch(/^credit-risk-2024-03-01-/);
      expect(failed.phase).toBe('Failed');
      expect(failed.error).toContain('exited 65');
      expect(res.dates[1]!.name).toBeUndefined();
      for (const d of res.dates.filter((x) => x.status !== 'skipped')) expect(fake.workflows.has(d.name!)).toBe(true);

      expect(events.filter((e) => e.type === 'skipped')).toEqual([{ type: 'skipped', date: '2024-02-28' }]);
      expect(events.filter((e) => e.type === 'submitted').map((e) => e.date)).toEqual(
        posts.map((p) => p.body.metadata.labels['batchscore.dev/date']),
      );
      const finished = events.filter((e) => e.type === 'finished') as Extract<BackfillEvent, { type: 'finished' }>[];
      expect(finished).toHaveLength(4);
      expect(finished.find((e) => e.date === '2024-03-01')!.status).toMatchObject({
        phase: 'Failed',
        shardsDone: 1,
        shardsTotal: 2,
      });
      expect(
        events.some((e) => e.type === 'progress' && e.status.phase === 'Running' && e.status.shardsTotal === 2),
      ).toBe(true);
    },
  );

  it('frees slots through polling when watches stall, and records submit errors per date', async () => {
    fake.behaviour = (r) => {
      if (r.query.watch === 'true') return { delayMs: 60_000 };
      if (r.method === 'POST' && r.body?.metadata?.labels?.['batchscore.dev/date'] === '2024-01-02')
        return { status: 403 };
      return undefined;
    };
    fake.onCreate = (wf) => setTimeout(() => fake.setPhase(wf.metadata.name, 'Succeeded'), 20);
    const res = await backfill({
      api,
      namespace: NS,
      dates: dateRange('2024-01-01', '2024-01-03'),
      parallel: 1,
      makeWorkflow: (d) => workflow(d),
      pollMs: 15,
    });
    expect(res.dates.map((d) => d.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(res.dates[1]!.errorCode).toBe('KUBE_DENIED');
    expect(res.dates[1]!.error).toContain('RBAC');
    expect(res.dates[1]!.name).toBeUndefined();
  });

  it('rejects bad arguments with USAGE', async () => {
    const base = { api, namespace: NS, makeWorkflow: (d: string) => workflow(d) };
    await expect(backfill({ ...base, dates: ['2024-01-01'], parallel: 0 })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(backfill({ ...base, dates: ['2024-02-30'], parallel: 1 })).rejects.toMatchObject({ code: 'USAGE' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('dateRange', () => {
  it('is inclusive, in UTC calendar days', () => {
    expect(dateRange('2024-03-05', '2024-03-05')).toEqual(['2024-03-05']);
    expect(dateRange('2023-12-30', '2024-01-02')).toEqual(['2023-12-30', '2023-12-31', '2024-01-01', '2024-01-02']);
    expect(dateRange('2024-01-01', '2024-12-31')).toHaveLength(366);
    // Across DST elsewhere:
    expect(dateRange('2024-03-30', '2024-04-01')).toEqual(['2024-03-30', '2024-03-31', '2024-04-01']);
  });

  it('throws USAGE for from > to and invalid dates', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as BatchscoreError).code;
      }
      return 'no error';
    };
    expect(code(() => dateRange('2024-03-02', '2024-03-01'))).toBe('USAGE');
    expect(code(() => dateRange('2023-02-29', '2023-03-01'))).toBe('USAGE');
    expect(code(() => dateRange('2024-03-01', '2024-3-02'))).toBe('USAGE');
  });
});
