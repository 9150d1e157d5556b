#!/usr/bin/env node
// npm run bench:whole: speed as a user times it (issue 26). Whole commands, process start to exit: `batchscore run
// --local` against `python peers.py arrow` on the same 10M rows and model, alternating, the median of BENCH_REPEATS
// (3) runs each, for 40 shards of 250k rows and for 4 of 2.5M; and the compute floor (onnxruntime alone on in-memory
// arrays, `limits.py`), also the median of its runs. Not a test: nothing here asserts; it prints one table.
//   BENCH_DIR      where fixtures and outputs go (default /tmp/batchscore-bench)
//   BENCH_ONLY     comma-separated models (mlp,gbdt)
//   BENCH_REPEATS  runs per command (default 3)
//   BENCH_PY       the Python with pyarrow and onnxruntime (default: ../shared/bench/setup.sh's)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchJob } from './benchJob.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = path.resolve(root, '../shared/bench');
const dir = process.env.BENCH_DIR ?? '/tmp/batchscore-bench';
const bin = path.join(root, 'packages/cli/bin/batchscore.js');
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const ROWS = 10_000_000;
if (!existsSync(shared)) {
  console.error(`bench: ${shared} is missing; it holds the peers and fixtures scripts`);
  process.exit(2);
}
const PY =
  process.env.BENCH_PY ??
  execFileSync('bash', [path.join(shared, 'setup.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
const fx = path.join(dir, 'fx');
const input = path.join(fx, `customers-${ROWS}.parquet`);
if (!existsSync(input)) run(PY, [path.join(shared, 'fixtures.py'), fx, String(ROWS)]);

const models = (process.env.BENCH_ONLY ?? 'mlp,gbdt').split(',');
const layouts = [250_000, 2_500_000];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const m of models) {
  const model = path.join(fx, `${m}.onnx`);
  const ours = Object.fromEntries(layouts.map((l) => [l, []]));
  const peer = [];
  const floor = [];
  // Alternating, so that the machine's drift (±15% here) falls on both sides alike.
  for (let i = 0; i < repeats; i++) {
    for (const l of layouts) ours[l].push(batchscore(m, model, l));
    peer.push(timed(PY, [path.join(shared, 'peers.py'), 'arrow', model, input, path.join(dir, `whole-peer-${m}`)]));
    const lim = run(PY, [path.join(shared, 'limits.py'), model, input]);
    floor.push(ROWS / Number(/compute-floor ([\d,]+)/.exec(lim)[1].replace(/,/g, '')));
    console.error(`bench: ${m} round ${i + 1} of ${repeats} done`);
  }
  for (const l of layouts)
    rows.push({
      model: m,
      shards: ROWS / l,
      rowsPerShard: l,
      s: median(ours[l]),
      peer: median(peer),
      floor: median(floor),
      all: ours[l],
    });
}

const f = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  `Whole commands, process start to exit, median of ${repeats} alternating runs, ${f(ROWS)} rows:`,
  '',
  '| model | shards × rows | batchscore s (runs) | arrow peer s | compute floor s | ÷ arrow peer | ÷ compute floor |',
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.shards} × ${f(r.rowsPerShard)} ` +
      `| ${r.s.toFixed(2)} (${r.all.map((s) => s.toFixed(2)).join(', ')}) ` +
      `| ${r.peer.toFixed(2)} | ${r.floor.toFixed(2)} ` +
      `| ${(r.peer / r.s).toFixed(2)}× | ${(r.floor / r.s).toFixed(2)}× |`,
  ),
];
console.log(lines.join('\n'));
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/whole.md'), lines.join('\n') + '\n');

function batchscore(name, model, rowsPerShard) {
  const out = path.join(dir, `whole-out-${name}`);
  rmSync(out, { recursive: true, force: true });
  const job = path.join(dir, `whole-${name}.yaml`);
  writeFileSync(job, benchJob({ name, input, model, out, rowsPerShard: rowsPerShard }));
  const s = timed(process.execPath, [bin, 'run', job, '--local', '--date', '2024-01-01']);
  const m = JSON.parse(
    readFileSync(path.join(out, 'batch_date=2024-01-01/model_version=v1/_batch_manifest.json'), 'utf8'),
  );
  if (m.record_count !== ROWS) throw new Error(`bench: ${name} published ${m.record_count} rows, not ${ROWS}`);
  return s;
}

function timed(cmd, args) {
  const t = process.hrtime.bigint();
  run(cmd, args);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return r.stdout + r.stderr;
}
