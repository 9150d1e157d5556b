/**
 * A Kubernetes API server for tests, as far as batchscore uses one: Argo Workflows in a namespace
 * (create, get, list with labelSelector, watch with fieldSelector metadata.name and resourceVersion), with
 * bearer-token auth, Kubernetes Status bodies for errors, and a record of every request it saw.
 * Workflows are keyed by name alone (tests use one namespace at a time).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonDoc } from './jsonDoc.js';

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The JSON a client sent, as it sent it. */
  body: JsonDoc;
  headers: http.IncomingHttpHeaders;
}

/**
 * What `behaviour` may return for a request: undefined to serve it normally; {status, body?} to answer with
 * that instead (body defaults to a Status object for the code); {delayMs} to serve it normally but late;
 * 'reset' to drop the connection without an answer.
 */
export type FakeBehaviour = (
  req: FakeRequest,
) => undefined | { status: number; body?: unknown } | { delayMs: number } | 'reset';

export interface FakeKube {
  url: string;
  kubeconfigPath: string;
  token: string;
  requests: FakeRequest[];
  /** What clients created, as they sent it, with the metadata an API server sets. */
  workflows: Map<string, JsonDoc>;
  /** Set status.phase (and merge `extra` into status), bump resourceVersion, push MODIFIED to watchers. */
  setPhase(name: string, phase: string, extra?: Record<string, unknown>): void;
  /** Delete a workflow, pushing DELETED to watchers. */
  remove(name: string): void;
  /** End every open watch stream as the API server does when a watch times out. */
  closeWatches(): void;
  /** Number of watch streams open now. */
  openWatches(): number;
  behaviour?: FakeBehaviour;
  /** A watch from a resourceVersion below this gets an ERROR event with a 410 Gone Status, then ends. */
  expireBefore?: number;
  /** Called after a workflow is created (with the stored object). */
  onCreate?: (wf: JsonDoc) => void;
  stop(): Promise<void>;
}

const PREFIX = /^\/apis\/argoproj\.io\/v1alpha1\/namespaces\/([^/]+)\/workflows(?:\/([^/]+))?$/;
const TEMPLATE = /^\/apis\/argoproj\.io\/v1alpha1\/namespaces\/([^/]+)\/workflowtemplates\/([^/]+)$/;

function statusBody(code: number, reason: string, message: string, name?: string) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(name === undefined ? {} : { details: { name, group: 'argoproj.io', kind: 'workflows' } }),
    code,
  };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'AlreadyExists',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

type Selected = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

function matchesLabels(obj: Selected, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = obj.metadata?.labels ?? {};
  return selector
    .split(',')
    .filter((s) => s !== '')
    .every((term) => {
      const [k, v] = term.split('=', 2) as [string, string | undefined];
      return v === undefined ? k in labels : labels[k] === v;
    });
}

function matchesFields(obj: Selected, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector
    .split(',')
    .filter((s) => s !== '')
    .every((term) => {
      const [k, v] = term.split('=', 2);
      if (k === 'metadata.name') return obj.metadata?.name === v;
      if (k === 'metadata.namespace') return obj.metadata?.namespace === v;
      return false;
    });
}

interface Watcher {
  ns: string;
  query: Record<string, string>;
  res: http.ServerResponse;
  timer?: ReturnType<typeof setTimeout>;
}

export async function startFakeKube(
  opts: { behaviour?: FakeBehaviour; onCreate?: (wf: JsonDoc) => void; templates?: string[] } = {},
): Promise<FakeKube> {
  const token = `fake-${randomBytes(6).toString('hex')}`;
  const workflows = new Map<string, JsonDoc>();
  const requests: FakeRequest[] = [];
  const log: { rv: number; type: string; object: JsonDoc }[] = [];
  const watchers = new Set<Watcher>();
  const delayed = new Set<ReturnType<typeof setTimeout>>();
  let rv = 1000;

  const nextRv = () => String(++rv);
  const clone = <T>(x: T): T => structuredClone(x);

  const push = (type: string, object: JsonDoc) => {
    const ev = { rv: Number(object.metadata.resourceVersion), type, object: clone(object) };
    log.push(ev);
    for (const w of watchers) {
      if (
        w.ns === object.metadata.namespace &&
        matchesFields(object, w.query.fieldSelector) &&
        matchesLabels(object, w.query.labelSelector)
      ) {
        w.res.write(JSON.stringify({ type, object: ev.object }) + '\n');
      }
    }
  };

  const endWatch = (w: Watcher) => {
    if (w.timer) clearTimeout(w.timer);
    watchers.delete(w);
    w.res.end();
  };

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const fake: FakeKube = {
    url: '',
    kubeconfigPath: '',
    token,
    requests,
    workflows,
    behaviour: opts.behaviour,
    onCreate: opts.onCreate,
    setPhase(name, phase, extra = {}) {
      const wf = workflows.get(name);
      if (!wf) throw new Error(`fakeKube.setPhase: no workflow ${name}`);
      const now = new Date().toISOString();
      const status = { ...(wf.status ?? {}), ...extra, phase };
      if (status.startedAt === undefined && phase !== 'Pending') status.startedAt = now;
      if (['Succeeded', 'Failed', 'Error'].includes(phase) && status.finishedAt === undefined) status.finishedAt = now;
      wf.status = status;
      wf.metadata.resourceVersion = nextRv();
      push('MODIFIED', wf);
    },
    remove(name) {
      const wf = workflows.get(name);
      if (!wf) return;
      workflows.delete(name);
      wf.metadata.resourceVersion = nextRv();
      push('DELETED', wf);
    },
    closeWatches() {
      for (const w of [...watchers]) endWatch(w);
    },
    openWatches: () => watchers.size,
    async stop() {
      fake.closeWatches();
      for (const t of delayed) clearTimeout(t);
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    },
  };

  const serve = (req: FakeRequest, res: http.ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    }
    // WorkflowTemplates: only GET of one, installed in every namespace when named in opts.templates.
    const t = TEMPLATE.exec(req.path);
    if (t && req.method === 'GET') {
      const tname = decodeURIComponent(t[2]!);
      if (!(opts.templates ?? []).includes(tname))
        return send(res, 404, statusBody(404, 'NotFound', `workflowtemplates.argoproj.io "${tname}" not found`, tname));
      return send(res, 200, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'WorkflowTemplate',
        metadata: { name: tname, namespace: decodeURIComponent(t[1]!) },
        spec: {},
      });
    }
    const m = PREFIX.exec(req.path);
    if (!m) {
      return send(res, 404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const ns = decodeURIComponent(m[1]!);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);

    if (req.method === 'POST' && name === undefined) {
      const body = req.body;
      if (!body || typeof body !== 'object' || body.kind !== 'Workflow') {
        return send(res, 400, statusBody(400, 'BadRequest', 'the body is not a Workflow'));
      }
      const meta = body.metadata ?? {};
      if (meta.namespace !== undefined && meta.namespace !== ns) {
        // What the API server answers, and why `kubectl apply -n team` of an object naming another namespace fails.
        return send(
          res,
          400,
          statusBody(
            400,
            'BadRequest',
            'the namespace of the provided object does not match the namespace sent on the request',
          ),
        );
      }
      let wfName: string | undefined = meta.name;
      if (!wfName) {
        if (!meta.generateName) {
          return send(
            res,
            422,
            statusBody(
              422,
              'Invalid',
              'Workflow.argoproj.io "" is invalid: metadata.name: Required value: name or generateName is required',
            ),
          );
        }
        do {
          wfName =
            meta.generateName + Array.from(randomBytes(5), (b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join('');
        } while (workflows.has(wfName));
      } else if (workflows.has(wfName)) {
        return send(
          res,
          409,
          statusBody(409, 'AlreadyExists', `workflows.argoproj.io "${wfName}" already exists`, wfName),
        );
      }
      const wf = clone(body);
      wf.metadata = {
        ...meta,
        name: wfName,
        namespace: ns,
        uid: randomUUID(),
        resourceVersion: nextRv(),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      };
      // A server-side dry run (kubectl's --dry-run=server) answers as a create would, and keeps nothing.
      if (req.query.dryRun === 'All') return send(res, 201, wf);
      workflows.set(wfName, wf);
      push('ADDED', wf);
      send(res, 201, wf);
      fake.onCreate?.(wf);
      return;
    }

    if (req.method === 'GET' && name !== undefined) {
      const wf = workflows.get(name);
      if (!wf || wf.metadata.namespace !== ns) {
        return send(res, 404, statusBody(404, 'NotFound', `workflows.argoproj.io "${name}" not found`, name));
      }
      return send(res, 200, wf);
    }

    if (req.method === 'GET' && name === undefined && req.query.watch === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const w: Watcher = { ns, query: req.query, res };
      const matching = (o: Selected) =>
        o.metadata?.namespace === ns &&
        matchesFields(o, req.query.fieldSelector) &&
        matchesLabels(o, req.query.labelSelector);
      const from = req.query.resourceVersion;
      if (
        from !== undefined &&
        from !== '' &&
        from !== '0' &&
        fake.expireBefore !== undefined &&
        Number(from) < fake.expireBefore
      ) {
        const gone = statusBody(410, 'Expired', `too old resource version: ${from} (${fake.expireBefore})`);
        res.end(JSON.stringify({ type: 'ERROR', object: gone }) + '\n');
        return;
      }
      if (from !== undefined && from !== '' && from !== '0') {
        for (const ev of log) {
          if (ev.rv > Number(from) && matching(ev.object))
            res.write(JSON.stringify({ type: ev.type, object: ev.object }) + '\n');
        }
      } else {
        for (const wf of workflows.values())
          if (matching(wf)) res.write(JSON.stringify({ type: 'ADDED', object: wf }) + '\n');
      }
      watchers.add(w);
      const secs = Number(req.query.timeoutSeconds);
      // Cap at 30 s so a stray watch never outlives a test.
      w.timer = setTimeout(
        () => endWatch(w),
        Math.min(Number.isFinite(secs) && secs > 0 ? secs * 1000 : 30_000, 30_000),
      );
      res.on('close', () => {
        if (w.timer) clearTimeout(w.timer);
        watchers.delete(w);
      });
      return;
    }

    if (req.method === 'GET' && name === undefined) {
      const items = [...workflows.values()].filter(
        (o) =>
          o.metadata.namespace === ns &&
          matchesLabels(o, req.query.labelSelector) &&
          matchesFields(o, req.query.fieldSelector),
      );
      return send(res, 200, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'WorkflowList',
        metadata: { resourceVersion: String(rv) },
        items,
      });
    }

    send(res, 405, statusBody(405, 'MethodNotAllowed', `${req.method} is not supported here`));
  };

  const server = http.createServer((incoming, res) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (c: Buffer) => chunks.push(c));
    incoming.on('end', () => {
      const url = new URL(incoming.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: JsonDoc;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const req: FakeRequest = {
        method: incoming.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        headers: incoming.headers,
      };
      requests.push(req);
      const override = fake.behaviour?.(req);
      if (override === 'reset') {
        incoming.socket.destroy();
        return;
      }
      if (override && 'status' in override) {
        const code = override.status;
        return send(res, code, override.body ?? statusBody(code, REASONS[code] ?? 'Unknown', `fake ${code}`));
      }
      if (override && 'delayMs' in override) {
        const t = setTimeout(() => {
          delayed.delete(t);
          if (!res.destroyed) serve(req, res);
        }, override.delayMs);
        delayed.add(t);
        return;
      }
      serve(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  fake.url = `http://127.0.0.1:${port}`;

  const dir = await mkdtemp(join(tmpdir(), 'fakekube-'));
  fake.kubeconfigPath = join(dir, 'kubeconfig.yaml');
  await writeFile(
    fake.kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${fake.url}`,
      // client-node refuses a plain-http server unless TLS verification is explicitly off.
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: fake-user',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: fake',
      '  context:',
      '    cluster: fake',
      '    user: fake-user',
      '    namespace: batch',
      '- name: other',
      '  context:',
      '    cluster: fake',
      '    user: fake-user',
      '    namespace: other-ns',
      // No namespace: kubectl then uses "default".
      '- name: no-namespace',
      '  context:',
      '    cluster: fake',
      '    user: fake-user',
      'current-context: fake',
      '',
    ].join('\n'),
  );
  return fake;
}
