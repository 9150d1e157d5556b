#!/usr/bin/env node
// How big the Argo Workflow object grows with the shard count: one score pod per shard against strides
// (spec.cluster.scorePods). A measurement on the real workflow-controller of `npm run cluster` (Argo v4.0.5), not a
// test: nothing here asserts. Each case renders a job with `batchscore render`, creates it with kubectl, waits for it
// to end, and reads the Workflow back: `kubectl get wf NAME -o json` bytes, its compact JSON bytes (what Argo's
// packer measures against MAX_WORKFLOW_SIZE, 1 MiB, before it gzips the node status into status.compressedNodes),
// the node count, and the node status's bytes per node. Then a linear fit per mode projects 10,000 and 100,000 shards.
//
//   eval "$(npm run -s cluster -- up | tail -n 1)"; export PATH=<cluster bin>:$PATH   # kubectl of the cluster
//   npx vite-node bench/workflowSize.ts -- [--cases 100:shard,100:stride,1000:stride,1000:shard] [--parallelism 8]
//                               [--stub] [--out FILE]
//   npx vite-node bench/workflowSize.ts -- --report FILE[,FILE…]
//                               # the table and projections of saved --out files, no cluster
//
// A case is SHARDS:MODE; MODE `stride` is the default cap (scorePods = 4 × parallelism), `shard` one pod per shard,
// the fan-out before strides: the rendered plan step's `--max-pods` is removed, so plan writes pods = shards (the
// spec's scorePods could not go that far). Input: 10 rows per shard, so scoring costs next to nothing, and each
// real score pod still starts Node, onnxruntime and the model. --stub swaps the score and merge containers' command
// for `sh -c 'exit 0'` after rendering: the pods still run Argo's init, wait and emissary, so the nodes are the same
// nodes (same inputs, outputs, fields), for a fraction of the CPU; say so when quoting its numbers. Needs moto
// (python3 -m moto.server) for S3, as the tests do.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { toParquetBytes } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { startS3 } from '../test/support/s3server.js';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'packages/cli/bin/batchscore.js');
const { makeCustomers } = await import(path.join(root, 'packages/cli/dist/demo/makeCustomers.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const CASES = opt('cases', '100:shard,100:stride,1000:stride,1000:shard')
  .split(',')
  .map((c) => {
    const [n, mode] = c.split(':');
    if (!/^\d+$/.test(n) || !['shard', 'stride'].includes(mode))
      throw new Error(`--cases: ${c}: expected SHARDS:shard or SHARDS:stride`);
    return { shards: Number(n), mode };
  });
const PARALLELISM = Number(opt('parallelism', '8'));
const STUB = args.includes('--stub');
const OUT = opt('out', undefined);
const ROWS_PER_SHARD = 10;
const FILE_SHARDS = 100; // shards per input file (one row group each)
const DATE = '2024-10-01';
const MiB = 1024 * 1024;

const sh = (cmd, a, o = {}) =>
  new Promise((resolve, reject) => {
    const child = execFile(cmd, a, { cwd: root, maxBuffer: 256 << 20, ...o }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${a.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
    if (o.input !== undefined) child.stdin.end(o.input);
  });
const kubectl = (a, o) => sh('kubectl', a, o);
const log = (...m) => console.error('workflowSize:', ...m);

async function namespace(prefix) {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['-n', ns, 'apply', '-f', 'manifests/rbac.yaml', '-f', 'manifests/gpu-semaphore.yaml']);
  await kubectl([
    '-n',
    ns,
    'create',
    'secret',
    'generic',
    'batchscore-s3',
    '--from-literal=AWS_ACCESS_KEY_ID=test',
    '--from-literal=AWS_SECRET_ACCESS_KEY=test',
  ]);
  for (let i = 0; i < 120; i++) {
    try {
      await kubectl(['-n', ns, 'get', 'serviceaccount', 'batchscore']);
      return ns;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`${ns}: no service account`);
}

function nodesOf(status) {
  if (status?.nodes) return status.nodes;
  if (status?.compressedNodes)
    return JSON.parse(gunzipSync(Buffer.from(status.compressedNodes, 'base64')).toString('utf8'));
  return {};
}

async function runCase(s3, bucket, store, c) {
  const prefix = `${c.mode}-${c.shards}-${randomBytes(2).toString('hex')}`;
  for (let f = 0; f * FILE_SHARDS < c.shards; f++) {
    const rows = Math.min(FILE_SHARDS, c.shards - f * FILE_SHARDS) * ROWS_PER_SHARD;
    await store.put(
      `${prefix}/in/dt=${DATE}/part-${String(f).padStart(4, '0')}.parquet`,
      toParquetBytes(makeCustomers(rows, f * FILE_SHARDS * ROWS_PER_SHARD), undefined, ROWS_PER_SHARD),
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-wfsize-'));
  const job = path.join(dir, 'job.yaml');
  writeFileSync(
    job,
    `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: wfsize}
spec:
  input: {uri: "s3://${bucket}/${prefix}/in/dt={date}/", format: parquet}
  model:
    uri: "s3://${bucket}/models/credit.onnx"
    version: v3
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: default_probability}]
  output: {uri: "s3://${bucket}/${prefix}/out/", passthrough: [customer_id]}
  sharding: {rowsPerShard: ${ROWS_PER_SHARD}}
  cluster:
    image: batchscore-worker:test
    serviceAccount: batchscore
    s3Secret: {name: batchscore-s3}
    env: {AWS_REGION: us-east-1, AWS_ENDPOINT_URL_S3: "${s3.endpoint}", BATCHSCORE_S3_FORCE_PATH_STYLE: "1"}
    parallelism: ${PARALLELISM}
    retries: {limit: 2, backoff: {duration: 1s, factor: 1, maxDuration: 1m}}
`,
  );
  const ns = await namespace(`wfsize-${c.mode}`);
  const wf0 = parseYaml(await sh(process.execPath, [bin, 'render', job, '--date', DATE, '-n', ns]));
  const planArgs = wf0.spec.templates.find((t) => t.name === 'plan').container.args;
  const scorePods = Number(planArgs[planArgs.indexOf('--max-pods') + 1]);
  if (c.mode === 'shard') planArgs.splice(planArgs.indexOf('--max-pods'), 2);
  if (STUB)
    for (const t of wf0.spec.templates)
      if (t.name === 'score' || t.name === 'merge')
        Object.assign(t.container, { command: ['sh', '-c', 'exit 0'], args: [] });
  const rendered = toYaml(wf0);
  const name = /workflow\.argoproj\.io\/(\S+) created/.exec(
    await kubectl(['create', '-f', '-'], { input: rendered }),
  )[1];
  const t0 = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 5000));
    const phase = (await kubectl(['-n', ns, 'get', 'wf', name, '-o', 'jsonpath={.status.phase}'])).trim();
    if (['Succeeded', 'Failed', 'Error'].includes(phase)) break;
    if (Date.now() - t0 > 3 * 3600_000) throw new Error(`${name} still ${phase} after 3 h`);
  }
  const text = await kubectl(['-n', ns, 'get', 'wf', name, '-o', 'json']);
  const wf = JSON.parse(text);
  const nodes = nodesOf(wf.status);
  const nodeList = Object.values(nodes);
  const byType = {};
  for (const n of nodeList) byType[n.type] = (byType[n.type] ?? 0) + 1;
  const hydrated = { ...wf, status: { ...wf.status, nodes, compressedNodes: undefined } };
  const plan = nodeList.find((n) => n.templateName === 'plan' && n.type === 'Pod');
  const out = {
    shards: c.shards,
    mode: c.mode,
    stub: STUB,
    parallelism: PARALLELISM,
    scorePods: c.mode === 'shard' ? null : scorePods,
    pods: Number(plan?.outputs?.parameters?.find((p) => p.name === 'pods')?.value),
    phase: wf.status.phase,
    seconds: Math.round((Date.now() - t0) / 1000),
    nodes: nodeList.length,
    nodeTypes: byType,
    scorePodNodes: nodeList.filter((n) => n.type === 'Pod' && n.templateName === 'score').length,
    compressed: Boolean(wf.status.compressedNodes),
    // What the brief's `kubectl get wf NAME -o json | wc -c` prints (kubectl indents its JSON).
    kubectlJsonBytes: Buffer.byteLength(text),
    // Compact JSON as stored (what Argo's packer sizes against 1 MiB), and the same with the node status uncompressed.
    storedBytes: Buffer.byteLength(JSON.stringify(wf)),
    hydratedBytes: Buffer.byteLength(JSON.stringify(hydrated)),
    nodeStatusBytes: Buffer.byteLength(JSON.stringify(nodes)),
    compressedNodeStatusBytes: wf.status.compressedNodes ? wf.status.compressedNodes.length : undefined,
    taskResults: Object.keys(wf.status.taskResultsCompletionStatus ?? {}).length,
    workflow: `${ns}/${name}`,
  };
  out.bytesPerNode = Math.round(out.nodeStatusBytes / out.nodes);
  // Delete the run's namespace (its Workflow, pods and task results) so that the next case runs on a quiet cluster.
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
  return out;
}

/** Least squares y = a + b·x over the points. */
function fit(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const b = sxx === 0 ? 0 : points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
  return { a: my - b * mx, b };
}

function report(results) {
  // Per mode: nodes as a line in the shard count, and the Workflow's bytes (hydrated) as a line in its nodes.
  const projections = [];
  for (const mode of ['shard', 'stride']) {
    const rs = results.filter((r) => r.mode === mode).sort((x, y) => x.shards - y.shards);
    if (rs.length < 2) continue;
    const nodesFit = fit(rs.map((r) => ({ x: r.shards, y: r.nodes })));
    const bytesFit = fit(rs.map((r) => ({ x: r.nodes, y: r.hydratedBytes })));
    // kubectl's indented JSON is only a line in the nodes while the node status is stored uncompressed.
    const plain = rs.filter((r) => !r.compressed);
    const kubectlFit = plain.length >= 2 ? fit(plain.map((r) => ({ x: r.nodes, y: r.kubectlJsonBytes }))) : undefined;
    const ratio = rs.filter((r) => r.compressed).map((r) => r.compressedNodeStatusBytes / r.nodeStatusBytes)[0];
    const perNode = rs[rs.length - 1].nodeStatusBytes / rs[rs.length - 1].nodes;
    for (const shards of [10_000, 100_000]) {
      // Strides: the pods stop at scorePods, and with them the nodes.
      const nodes = Math.round(mode === 'stride' ? rs[rs.length - 1].nodes : nodesFit.a + nodesFit.b * shards);
      const bytes = Math.round(bytesFit.a + bytesFit.b * nodes);
      const nodeBytes = Math.round(perNode * nodes);
      projections.push({
        shards,
        mode,
        nodes,
        hydratedBytes: bytes,
        ...(kubectlFit && bytes <= MiB ? { kubectlJsonBytes: Math.round(kubectlFit.a + kubectlFit.b * nodes) } : {}),
        overArgoThreshold: bytes > MiB,
        // Past 1 MiB Argo stores the node status gzipped and base64'd; past 1 MiB even so, it errors the Workflow.
        ...(bytes > MiB && ratio
          ? {
              storedBytesIfCompressed: Math.round(bytes - nodeBytes + nodeBytes * ratio),
              compressionRatio: Number(ratio.toFixed(4)),
            }
          : {}),
      });
    }
    const fitOut = {
      nodesPerShard: Number(nodesFit.b.toFixed(4)),
      nodesAt0Shards: Number(nodesFit.a.toFixed(1)),
      bytesPerNode: Number(bytesFit.b.toFixed(1)),
      bytesAt0Nodes: Math.round(bytesFit.a),
    };
    if (mode === 'shard') {
      // Where one pod per shard crosses Argo's 1 MiB: it starts compressing, and (by the measured ratio) fails.
      const nodesAt = (b) => (b - bytesFit.a) / bytesFit.b;
      const shardsAt = (n) => Math.floor((n - nodesFit.a) / nodesFit.b);
      fitOut.shardsWhereCompressionStarts = shardsAt(nodesAt(MiB));
      if (ratio)
        fitOut.shardsWhereCompressedExceeds1MiB = shardsAt(
          (MiB - bytesFit.a) / (bytesFit.b - perNode + perNode * ratio),
        );
    }
    projections.push({ mode, fit: fitOut });
  }
  const table = [
    '| shards | mode | pods | nodes | kubectl -o json bytes | stored (compact) bytes ' +
      '| hydrated bytes | node status bytes | bytes/node | compressed | s |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...results.map(
      (r) =>
        `| ${r.shards} | ${r.mode === 'shard' ? 'pod per shard' : 'strides'}${r.stub ? ' (stub)' : ''} | ${r.pods} ` +
        `| ${r.nodes} | ${r.kubectlJsonBytes} | ${r.storedBytes} | ${r.hydratedBytes} | ${r.nodeStatusBytes} ` +
        `| ${r.bytesPerNode} | ${r.compressed ? `yes (${r.compressedNodeStatusBytes})` : 'no'} | ${r.seconds} |`,
    ),
  ].join('\n');
  console.log(table);
  console.log(JSON.stringify({ projections }, null, 2));
  return projections;
}

const reportFrom = opt('report', undefined);
if (reportFrom) {
  report(reportFrom.split(',').flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).results));
} else {
  // moto as the tests start it (it exits when this process does).
  const s3 = await startS3();
  try {
    const bucket = await s3.bucket('wfsize');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', readFileSync(path.join(root, 'models/credit.onnx')));
    const results = [];
    for (const c of CASES) {
      log(
        `${c.shards} shards, ${c.mode === 'shard' ? 'one pod per shard' : 'strides'}` +
          `${STUB ? ' (stub containers)' : ''}…`,
      );
      const r = await runCase(s3, bucket, store, c);
      log(JSON.stringify(r));
      results.push(r);
      if (OUT) writeFileSync(OUT, JSON.stringify({ results }, null, 2));
    }
    const projections = report(results);
    if (OUT) writeFileSync(OUT, JSON.stringify({ results, projections }, null, 2));
  } finally {
    await s3.stop();
  }
}
