#!/usr/bin/env node
/**
 * Randomized kill soak (`npm run soak`): runs `batchscore run --local` on a small local job again and again, and
 * SIGKILLs it at a random moment: the whole process group, one worker, or the merge (the parent, once its workers
 * are gone). After one to three kills on a date, a last run completes it; every completed date is then checked:
 * a complete manifest with record_count = input rows, and every input id exactly once, with onnxruntime's exact
 * score, in the files the manifest lists (and no other part file in the run folder).
 *
 *   SOAK_SEED=n   reproduce a soak (the seed is printed first)
 *   SOAK_KILLS=k  number of kills (default 20)
 *   SOAK_ROWS=r   input rows (default 300000)
 *
 * Prints one line per kill and a final PASS or FAIL; exits 0 or 1. Plain Node ESM over the built packages.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { LocalStore, openParquet, streamParquet, toParquetBytes } from '@batchscore/core';
import { makeCustomers } from '../packages/cli/dist/demo/makeCustomers.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BIN = path.join(REPO, 'packages/cli/bin/batchscore.js');
const MODEL = path.join(REPO, 'models/credit.onnx');

const SEED =
  process.env.SOAK_SEED !== undefined ? Number(process.env.SOAK_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const KILLS = Number(process.env.SOAK_KILLS ?? 20);
const ROWS = Number(process.env.SOAK_ROWS ?? 300_000);
const ROWS_PER_SHARD = 10_000;
const WORKERS = 2;

/** mulberry32: a small seeded generator, so a failing soak can be replayed with its seed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function childPids(pid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

function kill(pid) {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** `run --local` in its own process group; `exited` resolves with its code, signal and stderr. */
function startRun(job, date) {
  const child = spawn(process.execPath, [BIN, 'run', job, '--local', '--date', date, '--workers', String(WORKERS)], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  let done = false;
  const exited = new Promise((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal, stderr });
    }),
  );
  return { pid: child.pid, exited, isDone: () => done };
}

function runToCompletion(job, date) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'run', job, '--local', '--date', date],
      { cwd: REPO, maxBuffer: 16 << 20 },
      (err, _stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
      },
    );
  });
}

async function referenceScores(table) {
  const n = table.numRows;
  const x = new Float32Array(n * 4);
  ['age', 'income', 'credit', 'loan'].forEach((c, j) => {
    const v = table.getChild(c);
    for (let i = 0; i < n; i++) x[i * 4 + j] = Number(v.get(i));
  });
  const s = await ort.InferenceSession.create(MODEL);
  const out = await s.run({ features: new ort.Tensor('float32', x, [n, 4]) });
  const p = out.probabilities.data;
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) r[i] = p[i * 2 + 1];
  await s.release();
  return r;
}

async function walk(dir, rel = '') {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(path.join(dir, e.name), r)));
    else out.push(r);
  }
  return out;
}

/** '' when the date's run is complete and exactly once; otherwise what is wrong. */
async function verify(outDir, date, ref) {
  const runRel = `batch_date=${date}/model_version=v3/`;
  const store = new LocalStore(outDir);
  let m;
  try {
    m = JSON.parse(await readFile(path.join(outDir, runRel, '_batch_manifest.json'), 'utf8'));
  } catch (e) {
    return `no manifest (${e.code ?? e.message})`;
  }
  const problems = [];
  if (m.status !== 'complete') problems.push(`status ${m.status}`);
  if (m.record_count !== ROWS) problems.push(`record_count ${m.record_count}`);
  if (m.input_record_count !== ROWS) problems.push(`input_record_count ${m.input_record_count}`);
  const seen = new Uint8Array(ROWS);
  let rows = 0;
  let unknown = 0;
  let duplicated = 0;
  let maxDiff = 0;
  for (const f of m.files) {
    let pf;
    try {
      pf = await openParquet(store, runRel + f.path);
    } catch (e) {
      problems.push(`${f.path}: ${e.message}`);
      continue;
    }
    const groups = Array.from({ length: pf.metadata().numRowGroups() }, (_, i) => i);
    for await (const t of streamParquet(pf, {
      rowGroups: groups,
      columns: ['customer_id', 'default_probability'],
      batchSize: 1 << 20,
    })) {
      const ids = t.getChild('customer_id');
      const scores = t.getChild('default_probability');
      for (let i = 0; i < t.numRows; i++) {
        const id = Number(ids.get(i));
        rows++;
        if (!(id >= 0 && id < ROWS)) unknown++;
        else if (seen[id]++) duplicated++;
        else maxDiff = Math.max(maxDiff, Math.abs(ref[id] - scores.get(i)));
      }
    }
    pf.free();
  }
  const missing = seen.reduce((n, s) => n + (s === 0 ? 1 : 0), 0);
  if (rows !== ROWS) problems.push(`${rows} rows in the listed files`);
  if (duplicated) problems.push(`${duplicated} duplicated ids`);
  if (missing) problems.push(`${missing} missing ids`);
  if (unknown) problems.push(`${unknown} unknown ids`);
  if (maxDiff !== 0) problems.push(`max score difference ${maxDiff}`);
  // A reader that globs the run folder must see the same parts the manifest lists.
  const listed = new Set(m.files.map((f) => f.path));
  const stray = (await walk(path.join(outDir, runRel))).filter(
    (p) => p.endsWith('.parquet') && !p.split('/').some((s) => s.startsWith('_')) && !listed.has(p),
  );
  if (stray.length) problems.push(`part files not in the manifest: ${stray.slice(0, 3).join(', ')}`);
  return problems.join('; ');
}

async function main() {
  console.log(
    `soak: seed ${SEED} (SOAK_SEED=${SEED} replays it), ${KILLS} kills, ${ROWS.toLocaleString('en-US')} ` +
      `rows, ${Math.ceil(ROWS / ROWS_PER_SHARD)} shards, ${WORKERS} workers`,
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-soak-'));
  const input = new LocalStore(path.join(dir, 'in'));
  const parts = [];
  for (let first = 0, f = 0; first < ROWS; first += 50_000, f++) {
    const t = makeCustomers(Math.min(50_000, ROWS - first), first);
    await input.put(`part-${String(f).padStart(3, '0')}.parquet`, toParquetBytes(t, undefined, 5_000));
    parts.push(t);
  }
  const table = parts.length === 1 ? parts[0] : parts[0].concat(...parts.slice(1));
  const ref = await referenceScores(table);
  const job = path.join(dir, 'job.yaml');
  const outDir = path.join(dir, 'out');
  await writeFile(
    job,
    `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: soak}
spec:
  input: {uri: "in/", format: parquet}
  model:
    uri: "${MODEL}"
    version: v3
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: default_probability}]
  output:
    uri: "out/"
    passthrough: [customer_id]
    rowsPerPart: 2500
  sharding: {rowsPerShard: ${ROWS_PER_SHARD}}
`,
  );

  const failures = [];
  const dateOf = (d) => new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10);
  const t0 = Date.now();

  // A clean run first: it checks the setup and measures how long a run takes, the window kills are drawn from.
  let t = Date.now();
  const first = await runToCompletion(job, dateOf(0));
  const runMs = Date.now() - t;
  const firstProblem =
    first.code !== 0
      ? `exit ${first.code}: ${first.stderr.trim().split('\n').pop()}`
      : await verify(outDir, dateOf(0), ref);
  console.log(`clean run  date=${dateOf(0)}  ${runMs} ms  ${firstProblem ? `FAIL: ${firstProblem}` : 'ok'}`);
  if (firstProblem) failures.push(`clean run: ${firstProblem}`);

  let d = 1;
  let killsOnDate = 0;
  let maxOnDate = 1 + Math.floor(random() * 3);
  const finishDate = async (why) => {
    const date = dateOf(d);
    let note = why;
    if (why === 'rerun') {
      const r = await runToCompletion(job, date);
      note = `rerun exit ${r.code}`;
      if (r.code !== 0) note += `: ${r.stderr.trim().split('\n').pop()}`;
    }
    const problem = await verify(outDir, date, ref);
    console.log(
      `  date=${date} after ${killsOnDate} kill${killsOnDate === 1 ? '' : 's'}: ${note}; ` +
        `${problem ? `FAIL: ${problem}` : 'complete, exactly once'}`,
    );
    if (problem) failures.push(`${date}: ${problem}`);
    d++;
    killsOnDate = 0;
    maxOnDate = 1 + Math.floor(random() * 3);
  };

  // A draw that finds the run already gone (a resumed run is quicker than the window) is logged but not counted.
  let k = 0;
  for (let draws = 0; k < KILLS && draws < KILLS * 3; draws++) {
    const date = dateOf(d);
    const target = pick(['group', 'worker', 'merge']);
    const run = startRun(job, date);
    const started = Date.now();
    let what;
    let killed;
    if (target === 'group') {
      await sleep(random() * runMs);
      killed = !run.isDone() && kill(-run.pid);
      what = killed ? `killed the process group` : 'missed: the run had already exited';
    } else if (target === 'worker') {
      // Workers start after planning: wait for them, then a random time within the scoring, then kill one.
      while (!run.isDone() && childPids(run.pid).length === 0) await sleep(5);
      await sleep(random() * runMs * 0.8);
      const workers = childPids(run.pid);
      const victim = workers.length ? pick(workers) : undefined;
      killed = victim !== undefined && kill(victim);
      what = killed ? `killed worker ${victim}` : 'missed: no worker alive any more';
    } else {
      // The merge runs in the parent once every worker has exited: wait for that, then a few random ms more.
      let sawWorkers = false;
      while (!run.isDone()) {
        const n = childPids(run.pid).length;
        if (n > 0) sawWorkers = true;
        else if (sawWorkers) break;
        await sleep(3);
      }
      const extra = Math.floor(random() * 15);
      await sleep(extra);
      killed = !run.isDone() && kill(run.pid);
      what = killed ? `killed the parent in merge (+${extra} ms)` : 'missed: the run had already exited';
    }
    if (killed) k++;
    const at = Date.now() - started;
    const r = await run.exited;
    kill(-run.pid); // nothing of the group may linger
    if (killed) killsOnDate++;
    const complete = (await verify(outDir, date, ref)) === '';
    const restarted = /worker process \d+ was killed by SIGKILL (while scoring shard \d+|while holding no shard)/.exec(
      r.stderr,
    );
    const outcome = r.signal ? `run ${r.signal}` : `run exit ${r.code}`;
    console.log(
      `${killed ? `kill ${String(k).padStart(2)}/${KILLS}` : 'miss      '}  ` +
        `date=${date}  target=${target.padEnd(6)}  ` +
        `at=${String(at).padStart(5)} ms  ${what}; ${outcome}` +
        (restarted
          ? ` (restarted: ${restarted[1]})`
          : target === 'worker' && killed && r.code === 0
            ? ' (it had nothing left to score)'
            : '') +
        `; manifest: ${complete ? 'complete' : 'none'}`,
    );
    // A worker kill leaves the parent alive: it must replace the worker and finish the run by itself.
    if (target === 'worker' && killed && r.code !== 0) {
      failures.push(
        `kill ${k}: run exited ${r.signal ?? r.code} after one worker was killed: ${r.stderr.trim().split('\n').pop()}`,
      );
    }
    if (complete || r.code === 0) await finishDate(killed ? 'completed despite the kill' : 'completed before any kill');
    else if (killsOnDate >= maxOnDate) await finishDate('rerun');
  }
  if (killsOnDate > 0) await finishDate('rerun');
  if (k < KILLS) failures.push(`only ${k} of ${KILLS} kills landed in ${KILLS * 3} draws`);

  if (!failures.length) await rm(dir, { recursive: true, force: true });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (failures.length) {
    console.log(
      `FAIL (seed ${SEED}, ${secs} s; output kept in ${dir}): ` +
        `${failures.length} problem${failures.length === 1 ? '' : 's'}\n  ${failures.join('\n  ')}`,
    );
    process.exitCode = 1;
  } else {
    console.log(
      `PASS (seed ${SEED}, ${k} kills over ${d - 1} dates, ${secs} s): every run complete, ` +
        `every input row exactly once with its exact score`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  console.log(`FAIL (seed ${SEED}): ${e?.message ?? e}`);
  process.exitCode = 1;
});
