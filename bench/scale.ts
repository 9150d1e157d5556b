// npm run bench:scale: how batchscore's requests to S3 grow with the input, at 10,000 files and shards.
// moto on loopback answers a few hundred requests a second on this machine, so it cannot show S3's speed; a
// counting proxy that holds every request 20 ms (a distant S3's latency) can show how many requests each stage
// makes and how many it keeps in flight. Projected time against S3 = requests ÷ sustained in flight × 20 ms, where
// sustained in flight = the requests' summed time in flight ÷ the span from the first request to the last answer.
// Not a test: nothing here asserts; it prints one table (and the bounds of issue 13 beside each row).
//   SCALE_FILES        small Parquet files on S3 (default 10000); SCALE_LOCAL_FILES local ones (default 100000)
//   SCALE_DIR          where local fixtures go (default /tmp/batchscore-scale)
//   SCALE_SKIP_LOCAL=1 skips the 100,000-file local plan; SCALE_SKIP_MERGE=1 skips scoring and merging 10,000 shards
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mapLimit, planObjectKeys, toParquetBytes, type ShardRecord } from '@batchscore/core';
import { S3Store } from '@batchscore/core/s3';
import { jobYaml, makeCustomers } from '../test/support/data.js';
import { startFaultProxy, type LoggedRequest } from '../test/support/faultProxy.js';
import { s3Env, startS3 } from '../test/support/s3server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(root, 'packages/cli/bin/batchscore.js');
const RSS_HOOK = path.join(root, 'bench/reportRss.mjs');
const MODEL = path.join(root, 'models/credit.onnx');
const DATE = '2024-09-01';
const DELAY_MS = 20;
const FILES = Number(process.env.SCALE_FILES ?? 10_000);
const LOCAL_FILES = Number(process.env.SCALE_LOCAL_FILES ?? 100_000);
const FILE_ROWS = 100;
const WIDE_FILES = 1000;
const dir = process.env.SCALE_DIR ?? '/tmp/batchscore-scale';

interface Measured {
  stage: string;
  requests?: number;
  peak?: number;
  sustained?: number;
  seconds: number;
  rssMb: number;
  projectedS?: number;
  perUnit?: string;
  bound: string;
  met: boolean | undefined;
}

/** Runs the CLI in its own process; its peak RSS comes back through a preloaded exit hook (bench/reportRss.mjs). */
async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string; seconds: number; rssMb: number }> {
  const rssFile = path.join(dir, `rss-${process.pid}-${Date.now()}`);
  const t0 = performance.now();
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      ['--import', RSS_HOOK, BIN, ...args],
      { env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  const rssMb = Number(await readFile(rssFile, 'utf8').catch(() => '0')) / 2 ** 20;
  await rm(rssFile, { force: true });
  if (r.code !== 0) throw new Error(`batchscore ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return { ...r, seconds, rssMb };
}

async function main() {
  await mkdir(dir, { recursive: true });
  const s3 = await startS3();
  const rows: Measured[] = [];
  try {
    const bucket = await s3.bucket('bs-scale');
    const store = new S3Store({ bucket, prefix: '', client: s3.client });
    await store.put('models/credit.onnx', await readFile(MODEL));
    const small = toParquetBytes(makeCustomers(FILE_ROWS, 0), undefined, FILE_ROWS);
    const keys = Array.from({ length: FILES }, (_, i) => `in/part-${String(i).padStart(6, '0')}.parquet`);
    const wide = Array.from({ length: WIDE_FILES }, (_, i) => `wide/part-${String(i).padStart(6, '0')}.parquet`);
    console.error(`scale: uploading ${FILES + WIDE_FILES} files of ${small.length} bytes to moto`);
    await mapLimit([...keys, ...wide], 32, (k) => store.put(k, small));
    const job = async (name: string, input: string, rowsPerShard: number) => {
      const file = path.join(dir, `${name}.yaml`);
      await writeFile(
        file,
        jobYaml({
          name,
          input,
          model: `s3://${bucket}/models/credit.onnx`,
          output: `s3://${bucket}/out-${name}/`,
          rowsPerShard,
        }),
      );
      return file;
    };
    const perFile = await job('per-file', `s3://${bucket}/in/`, FILE_ROWS);
    const direct = s3Env(s3.endpoint);

    const proxied = async (args: string[]) => {
      const proxy = await startFaultProxy(s3.endpoint, { record: true, delayMs: DELAY_MS });
      try {
        const r = await cli(args, s3Env(proxy.endpoint));
        const { requests, peakInFlight, busyMs, log, firstAt, lastAt } = proxy.stats;
        // Over the span requests were made in (the process's start-up and model load are not S3's time).
        const sustained = busyMs / (lastAt - firstAt);
        return {
          ...r,
          requests,
          peak: peakInFlight,
          sustained,
          log,
          projectedS: (requests / sustained) * (DELAY_MS / 1000),
        };
      } finally {
        await proxy.stop();
      }
    };

    // 1. Plan over FILES small files on S3, projected to 100,000.
    console.error('scale: plan on S3');
    const plan = await proxied(['plan', perFile, '--date', DATE]);
    const planPerFile = plan.requests / FILES;
    const planProjected100k = ((planPerFile * 100_000) / plan.sustained) * (DELAY_MS / 1000);
    rows.push({
      stage: `plan, ${FILES.toLocaleString('en-US')} small files on S3`,
      requests: plan.requests,
      peak: plan.peak,
      sustained: plan.sustained,
      seconds: plan.seconds,
      rssMb: plan.rssMb,
      projectedS: plan.projectedS,
      perUnit: `${planPerFile.toFixed(3)} / file; ${planProjected100k.toFixed(1)} s projected at 100,000 files`,
      bound: '≤ 1.5 req/file; ≤ 60 s at 100,000 files',
      met: planPerFile <= 1.5 && planProjected100k <= 60,
    });

    // 2. One score pod of that plan: plan and footer bytes fetched beyond its row groups.
    console.error('scale: one score pod');
    const shard = Math.floor(FILES / 2);
    const pod = await proxied(['score', perFile, '--date', DATE, '--shard', String(shard)]);
    const planKeys = planObjectKeys(`out-per-file/_batchscore/${DATE}/v3/plan.json`);
    const isPlan = (r: LoggedRequest) => Object.values(planKeys).includes(r.key.replace(/\?.*/, ''));
    const planBytes = pod.log.filter(isPlan).reduce((n, r) => n + r.bytes, 0);
    const inputBytes = pod.log.filter((r) => r.key.startsWith('in/')).reduce((n, r) => n + r.bytes, 0);
    const line = new TextDecoder().decode(await store.get(planKeys.shards)).split('\n')[shard]!;
    const record = JSON.parse(line) as ShardRecord;
    const groupBytes = record.pieces.reduce((n, p) => n + ('bytes' in p && p.bytes ? p.bytes[1] - p.bytes[0] : 0), 0);
    const beyond = planBytes + inputBytes - groupBytes;
    rows.push({
      stage: `one score pod of a ${FILES.toLocaleString('en-US')}-shard plan`,
      requests: pod.requests,
      peak: pod.peak,
      sustained: pod.sustained,
      seconds: pod.seconds,
      rssMb: pod.rssMb,
      projectedS: pod.projectedS,
      perUnit:
        `${planBytes.toLocaleString('en-US')} B of plan + ${(inputBytes - groupBytes).toLocaleString('en-US')} ` +
        `B of footer beyond ${groupBytes.toLocaleString('en-US')} B of row groups`,
      bound: '≤ 64 KiB beyond its row groups',
      met: beyond <= 64 << 10,
    });

    // 3. One shard over WIDE_FILES small files.
    console.error('scale: one shard over 1,000 files');
    const wideJob = await job('wide', `s3://${bucket}/wide/`, WIDE_FILES * FILE_ROWS);
    await cli(['plan', wideJob, '--date', DATE], direct);
    const w = await proxied(['score', wideJob, '--date', DATE, '--shard', '0']);
    rows.push({
      stage: `one shard over ${WIDE_FILES.toLocaleString('en-US')} small files`,
      requests: w.requests,
      peak: w.peak,
      sustained: w.sustained,
      seconds: w.seconds,
      rssMb: w.rssMb,
      projectedS: w.projectedS,
      bound: '≤ 5 s projected',
      met: w.projectedS <= 5,
    });

    // 4. Merge of FILES shards: scored for real by two stride pods against moto directly, then merged through the
    // proxy.
    if (!process.env.SCALE_SKIP_MERGE) {
      console.error(
        `scale: scoring ${FILES} shards (two stride pods against moto directly), then merge through the proxy`,
      );
      await Promise.all(
        [0, 1].map((pod) => cli(['score', perFile, '--date', DATE, '--pod', String(pod), '--pods', '2'], direct)),
      );
      const merge = await proxied(['merge', perFile, '--date', DATE]);
      rows.push({
        stage: `merge of ${FILES.toLocaleString('en-US')} shards`,
        requests: merge.requests,
        peak: merge.peak,
        sustained: merge.sustained,
        seconds: merge.seconds,
        rssMb: merge.rssMb,
        projectedS: merge.projectedS,
        perUnit: `${(merge.requests / FILES).toFixed(3)} / shard`,
        bound: '≤ 4 req/shard; ≤ 60 s',
        met: merge.requests / FILES <= 4 && merge.projectedS <= 60,
      });
    }
  } finally {
    await s3.stop();
  }

  // 5. Plan over LOCAL_FILES small files on local disk: time and memory (no requests to count).
  if (!process.env.SCALE_SKIP_LOCAL) {
    console.error(`scale: plan over ${LOCAL_FILES} local files`);
    const local = path.join(dir, 'local-in');
    await rm(local, { recursive: true, force: true });
    await mkdir(local, { recursive: true });
    const first = path.join(local, 'part-000000.parquet');
    await writeFile(first, toParquetBytes(makeCustomers(FILE_ROWS, 0), undefined, FILE_ROWS));
    const names = Array.from({ length: LOCAL_FILES - 1 }, (_, i) =>
      path.join(local, `part-${String(i + 1).padStart(6, '0')}.parquet`),
    );
    await mapLimit(names, 16, (n) => copyFile(first, n));
    const file = path.join(dir, 'local.yaml');
    await rm(path.join(dir, 'local-out'), { recursive: true, force: true });
    await writeFile(
      file,
      jobYaml({
        name: 'local',
        input: `${local}/`,
        model: MODEL,
        output: `${path.join(dir, 'local-out')}/`,
        rowsPerShard: 100 * FILE_ROWS,
      }),
    );
    const r = await cli(['plan', file, '--date', DATE], {});
    rows.push({
      stage: `plan, ${LOCAL_FILES.toLocaleString('en-US')} small local files`,
      seconds: r.seconds,
      rssMb: r.rssMb,
      bound: 'planner RSS ≤ 512 MB',
      met: r.rssMb <= 512,
    });
  }

  const n = (v: number | undefined, d = 0) =>
    v === undefined ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const out = [
    `scale bench: requests held ${DELAY_MS} ms each by a counting proxy in front of moto; ` +
      `projected = requests ÷ sustained in flight × ${DELAY_MS} ms`,
    '',
    '| stage | requests | peak in flight | sustained in flight | time (s) | peak RSS ' +
      '(MB) | projected at 20 ms (s) | per unit | bound | met |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.stage} | ${n(r.requests)} | ${n(r.peak)} | ${n(r.sustained, 1)} | ${n(r.seconds, 1)} ` +
        `| ${n(r.rssMb)} | ${n(r.projectedS, 1)} | ${r.perUnit ?? ''} | ${r.bound} ` +
        `| ${r.met === undefined ? '-' : r.met ? 'yes' : 'NO'} |`,
    ),
  ].join('\n');
  console.log(out);
  await mkdir(path.join(root, 'bench/results'), { recursive: true });
  await writeFile(path.join(root, 'bench/results', `scale-${new Date().toISOString().slice(0, 10)}.md`), out + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
