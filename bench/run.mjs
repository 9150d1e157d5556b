#!/usr/bin/env node
// npm run bench: batchscore's local job against its peers on the same input and model, in one run
// (../shared/bench: the pyarrow+onnxruntime "arrow" peer, the Ray Data peer, and the machine's floors).
// Whole commands are timed, start-up included. Not a test: nothing here asserts; it prints one table.
//   BENCH_DIR   where fixtures and outputs go (default /tmp/batchscore-bench)
//   BENCH_ONLY  comma-separated models to run (mlp,gbdt,wide), BENCH_SKIP_PEERS=1 to time batchscore alone
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchJob } from './benchJob.mjs';
import { formatTimeline, readTimeline } from './timeline.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = path.resolve(root, '../shared/bench');
const dir = process.env.BENCH_DIR ?? '/tmp/batchscore-bench';
const bin = path.join(root, 'packages/cli/bin/batchscore.js');
if (!existsSync(shared)) {
  console.error(`bench: ${shared} is missing; it holds the peers and fixtures scripts`);
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const PY = execFileSync('bash', [path.join(shared, 'setup.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();
const fx = path.join(dir, 'fx');
for (const n of [1_000_000, 10_000_000, 30_000_000]) {
  if (!existsSync(path.join(fx, `customers-${n}.parquet`))) run(PY, [path.join(shared, 'fixtures.py'), fx, String(n)]);
}

const CASES = [
  { model: 'mlp', rows: 10_000_000 },
  { model: 'gbdt', rows: 10_000_000 },
  { model: 'wide', rows: 1_000_000 },
  // Per-row speed apart from start-up: three times the rows, the same fixed costs.
  { model: 'mlp', rows: 30_000_000 },
].filter((c) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(c.model));

const results = [];
for (const c of CASES) {
  const input = path.join(fx, `customers-${c.rows}.parquet`);
  const model = path.join(fx, `${c.model}.onnx`);
  const r = { ...c, ...batchscore(c.model, input, model, {}) };
  if (!process.env.BENCH_SKIP_PEERS) {
    r.arrow =
      c.rows /
      timed(PY, [path.join(shared, 'peers.py'), 'arrow', model, input, path.join(dir, `peer-arrow-${c.model}`)]);
    r.ray =
      c.rows / timed(PY, [path.join(shared, 'peers.py'), 'ray', model, input, path.join(dir, `peer-ray-${c.model}`)]);
    const lim = run(PY, [path.join(shared, 'limits.py'), model, input]);
    r.compute = num(/compute-floor ([\d,]+)/.exec(lim)?.[1]);
    r.io = num(/io-floor ([\d,]+)/.exec(lim)?.[1]);
  }
  results.push(r);
  console.error(`bench: ${c.model} done`);
}

// Shard size: peak RSS and rows/s with 10 large shards against 40 small ones (mlp, 10M rows).
const shardRuns = process.env.BENCH_ONLY
  ? []
  : [2_500_000, 250_000].map((rowsPerShard) => ({
      rowsPerShard,
      ...batchscore('mlp', path.join(fx, 'customers-10000000.parquet'), path.join(fx, 'mlp.onnx'), { rowsPerShard }),
    }));

// Row groups are never split between shards, so a worker holds a whole row group however small rowsPerShard is:
// peak RSS for inputs of one row group of 1.5M and of 3M rows (mlp, rowsPerShard 100,000), to show how it grows.
const oneGroup = process.env.BENCH_ONLY
  ? []
  : [1_500_000, 3_000_000].map((rows) => {
      const file = path.join(fx, `customers-${rows}-one-row-group.parquet`);
      if (!existsSync(file)) {
        const src = path.join(fx, 'customers-10000000.parquet');
        run(PY, [
          '-c',
          `import pyarrow.parquet as pq; pq.write_table(pq.read_table(${JSON.stringify(src)}).slice(0, ` +
            `${rows}), ${JSON.stringify(file)}, row_group_size=${rows})`,
        ]);
      }
      return { rows, ...batchscore(`one-group-${rows}`, file, path.join(fx, 'mlp.onnx'), { rowsPerShard: 100_000 }) };
    });

const f = (n) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const x = (a, b) => (a && b ? (a / b).toFixed(2) + '×' : '-');
const lines = [
  '| model | rows | batchscore rows/s | arrow peer | Ray Data peer | compute floor ' +
    '| I/O floor | ÷ arrow | ÷ Ray | ÷ compute floor | peak RSS / worker |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.model} | ${f(r.rows)} | ${f(r.rowsPerS)} | ${f(r.arrow)} | ${f(r.ray)} | ${f(r.compute)} ` +
      `| ${f(r.io)} | ${x(r.rowsPerS, r.arrow)} | ${x(r.rowsPerS, r.ray)} | ${x(r.rowsPerS, r.compute)} ` +
      `| ${f(r.peakRssMB)} MB |`,
  ),
];
if (shardRuns.length) {
  lines.push('', '| mlp 10M, rowsPerShard | shards | rows/s | peak RSS / worker |', '|---|---|---|---|');
  for (const s of shardRuns)
    lines.push(`| ${f(s.rowsPerShard)} | ${s.shards} | ${f(s.rowsPerS)} | ${f(s.peakRssMB)} MB |`);
  lines.push(`\nmany small ÷ few large shards: ${(shardRuns[1].rowsPerS / shardRuns[0].rowsPerS).toFixed(2)} rows/s`);
}
if (oneGroup.length) {
  lines.push(
    '',
    '| input: one row group of | rowsPerShard | shards | rows/s | peak RSS / worker |',
    '|---|---|---|---|---|',
  );
  for (const g of oneGroup)
    lines.push(`| ${f(g.rows)} rows | 100,000 | ${g.shards} | ${f(g.rowsPerS)} | ${f(g.peakRssMB)} MB |`);
  const [a, b] = oneGroup;
  lines.push(
    `\npeak RSS grows by ${f((b.peakRssMB - a.peakRssMB) / ((b.rows - a.rows) / 1e6))} MB per 1M rows of row group`,
  );
}
// Where each run's time went: the fixed costs before the first shard and after the last, and the scoring between.
for (const r of results) lines.push('', formatTimeline(`${r.model} ${f(r.rows)}: timeline`, r.timeline));
console.log(lines.join('\n'));
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/latest.md'), lines.join('\n') + '\n');

function batchscore(name, input, model, o) {
  const out = path.join(dir, `out-${name}`);
  rmSync(out, { recursive: true, force: true });
  const job = path.join(dir, `${name}.yaml`);
  writeFileSync(job, benchJob({ name, input, model, out, rowsPerShard: o.rowsPerShard ?? 250_000 }));
  const timeline = path.join(dir, `${name}-timeline.jsonl`);
  rmSync(timeline, { force: true });
  const s = timed(process.execPath, [bin, 'run', job, '--local', '--date', '2024-01-01'], {
    BATCHSCORE_TIMELINE: timeline,
  });
  const m = JSON.parse(
    readFileSync(path.join(out, 'batch_date=2024-01-01/model_version=v1/_batch_manifest.json'), 'utf8'),
  );
  return {
    rowsPerS: m.record_count / s,
    timeline: readTimeline(timeline),
    peakRssMB: Math.max(...m.shards.map((x) => x.peak_rss_bytes ?? 0)) / 2 ** 20,
    shards: m.shard_count,
  };
}

function timed(cmd, args, env) {
  const t = process.hrtime.bigint();
  run(cmd, args, env);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return r.stdout + r.stderr;
}

function num(s) {
  return s ? Number(s.replace(/,/g, '')) : undefined;
}
