import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, manifestKey, toParquetBytes, type BatchManifest } from '@batchscore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers } from '../support/data.js';
import { parsePrometheusText, startHttpSink } from '../support/httpSink.js';
import { readManifest } from '../support/output.js';

const ROWS = 60_000;

/** Riskier customers: lower credit scores and incomes, larger loans. Scores shift up a lot. */
function shifted(t: arrow.Table): arrow.Table {
  const f = (c: string, g: (v: number) => number) =>
    arrow.makeVector(Float64Array.from(t.getChild(c)!.toArray() as Float64Array, g));
  return new arrow.Table({
    customer_id: t.getChild('customer_id')!,
    age: t.getChild('age')!,
    income: f('income', (v) => v * 0.4),
    credit: f('credit', (v) => Math.max(300, v - 180)),
    loan: f('loan', (v) => v * 2.5),
  });
}

describe('operations: metrics, cost, quality and drift, notifications, inspect, JSON logs', () => {
  let dir: string;
  let store: LocalStore;
  let out: LocalStore;
  const sink = {
    gateway: undefined as Awaited<ReturnType<typeof startHttpSink>> | undefined,
    hook: undefined as Awaited<ReturnType<typeof startHttpSink>> | undefined,
  };
  // The webhook answers 503 to its first request: the notification is retried.
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-ops-'));
    store = new LocalStore(dir);
    out = new LocalStore(path.join(dir, 'out'));
    sink.gateway = await startHttpSink();
    sink.hook = await startHttpSink({ status: (n) => (n === 1 ? 503 : 200) });
    await store.put('in/2024-03-01/a.parquet', toParquetBytes(makeCustomers(ROWS, 0, 1), undefined, 10_000));
    await store.put('in/2024-03-02/a.parquet', toParquetBytes(makeCustomers(ROWS, 0, 2), undefined, 10_000));
    await store.put('in/2024-03-03/a.parquet', toParquetBytes(shifted(makeCustomers(ROWS, 0, 3)), undefined, 10_000));
  });
  afterAll(async () => {
    await sink.gateway?.stop();
    await sink.hook?.stop();
  });

  const job = (extra = '') =>
    jobYaml({
      input: 'in/{date}/',
      model: CREDIT_MODEL,
      output: 'out/',
      rowsPerShard: 20_000,
      extra: `  metrics: {pushgateway: "${sink.gateway!.url}"}
  cost: {cpuNodeHour: 0.36, gpuNodeHour: 2.88, currency: EUR, workersPerNode: 2}
  notify: {webhook: "${sink.hook!.url}/hooks/batch"}
${extra}`,
    });

  it(
    'a run pushes per-shard and run metrics, prices its shards, summarises its predictions ' +
      'and notifies the webhook',
    async () => {
      const jobFile = path.join(dir, 'job.yaml');
      await writeFile(jobFile, job());
      const r = await runCli(['run', jobFile, '--local', '--date', '2024-03-01', '--workers', '2']);
      expect(r.code, r.stderr).toBe(0);
      const m = await readManifest(out, '2024-03-01');

      // Metrics: one PUT per shard and one for the run, each to its own group.
      const puts = sink.gateway!.received.filter((q) => q.method === 'PUT');
      const groups = puts.map((q) => q.url).sort();
      expect(groups).toEqual([
        '/metrics/job/credit-risk/batch_date/2024-03-01/model_version/v3/shard/00000',
        '/metrics/job/credit-risk/batch_date/2024-03-01/model_version/v3/shard/00001',
        '/metrics/job/credit-risk/batch_date/2024-03-01/model_version/v3/shard/00002',
        '/metrics/job/credit-risk/batch_date/2024-03-01/model_version/v3/shard/merge',
      ]);
      let rows = 0;
      for (const q of puts.filter((x) => !x.url.endsWith('/merge'))) {
        const s = parsePrometheusText(q.body);
        expect(s.get('batchscore_rows_processed_total')).toBe(20_000);
        expect(s.get('batchscore_rows_scored_total')).toBe(20_000);
        expect(s.get('batchscore_rows_quarantined_total')).toBe(0);
        // A shard's 20k rows are two 10k-row groups, read as two batches: two latency observations.
        expect(s.get('batchscore_batch_latency_seconds_count')).toBe(2);
        expect(s.get('batchscore_rows_per_second')).toBeGreaterThan(0);
        rows += s.get('batchscore_rows_processed_total')!;
      }
      expect(rows).toBe(ROWS);
      const run = parsePrometheusText(puts.find((x) => x.url.endsWith('/merge'))!.body);
      expect(run.get('batchscore_run_success')).toBe(1);
      expect(run.get('batchscore_run_rows{outcome="scored"}')).toBe(ROWS);
      expect(run.get('batchscore_run_cost{currency="EUR"}')).toBe(m.cost!.total);
      expect(run.get('batchscore_prediction_mean{column="default_probability"}')).toBe(
        m.quality!.predictions.default_probability!.mean,
      );

      // Cost: each shard's seconds shared by 2 workers per node, at the CPU price.
      expect(m.cost).toMatchObject({ currency: 'EUR', cpu_node_hour: 0.36, gpu_node_hour: 2.88, workers_per_node: 2 });
      for (const s of m.shards) {
        expect(s.node_seconds).toBeCloseTo(s.duration_s / 2, 2);
        expect(s.cost).toBeCloseTo((s.duration_s / 2 / 3600) * 0.36, 8);
      }
      expect(m.cost!.node_seconds).toBeCloseTo(
        m.shards.reduce((n, s) => n + s.duration_s / 2, 0),
        2,
      );
      expect(m.cost!.per_million_rows).toBeCloseTo((m.cost!.total / ROWS) * 1e6, 6);

      // Quality: exact feature statistics, and a histogram that holds every scored row.
      const t = makeCustomers(ROWS, 0, 1);
      const income = t.getChild('income')!.toArray() as Float64Array;
      expect(m.quality!.features.income).toEqual({
        count: ROWS,
        min: Math.min(...income),
        max: Math.max(...income),
        mean: Number((income.reduce((a, b) => a + b, 0) / ROWS).toPrecision(6)),
        nulls: 0,
        non_finite: 0,
      });
      const p = m.quality!.predictions.default_probability!;
      expect(p.histogram.counts).toHaveLength(20);
      expect(p.histogram.edges).toHaveLength(21);
      expect(p.histogram.counts.reduce((a, b) => a + b, 0)).toBe(ROWS);
      expect(p.histogram.edges[0]).toBe(p.min);
      expect(p.histogram.edges[20]).toBe(p.max);
      expect(m.quality!.drift).toEqual({ status: 'no_baseline', threshold: 0.2, psi: {} });

      // The webhook: one 503, then the completed run's summary.
      const posts = sink.hook!.received;
      expect(posts.map((q) => `${q.method} ${q.url}`)).toEqual(['POST /hooks/batch', 'POST /hooks/batch']);
      const n = JSON.parse(posts[1]!.body);
      expect(n).toMatchObject({
        event: 'batchscore.run.completed',
        status: 'complete',
        job: 'credit-risk',
        batch_date: '2024-03-01',
        run_id: m.run_id,
        summary: {
          record_count: ROWS,
          input_record_count: ROWS,
          quarantined_record_count: 0,
          shard_count: 3,
          cost: m.cost,
        },
      });
      expect(n.text).toContain('credit-risk 2024-03-01 (model v3): complete, 60000 rows scored');
      expect(r.stderr).toContain('notified the webhook: run complete (after 2 attempts)');
    },
  );

  it(
    'the next date compares with the previous one: same population no drift, a shifted ' +
      'one drift (warned, or failed with failOnDrift)',
    async () => {
      const jobFile = path.join(dir, 'job.yaml');
      await writeFile(jobFile, job());
      const same = await runCli(['run', jobFile, '--local', '--date', '2024-03-02']);
      expect(same.code, same.stderr).toBe(0);
      const m2 = await readManifest(out, '2024-03-02');
      expect(m2.quality!.drift.status).toBe('ok');
      expect(m2.quality!.drift.baseline).toEqual({
        run_id: (await readManifest(out, '2024-03-01')).run_id,
        batch_date: '2024-03-01',
      });
      expect(m2.quality!.drift.psi.default_probability).toBeLessThan(0.02);
      expect(same.stderr).not.toContain('prediction drift');

      // failOnDrift: nothing is published, and the webhook hears of the failure.
      const strict = path.join(dir, 'strict.yaml');
      await writeFile(strict, job('  quality: {failOnDrift: true}\n'));
      const before = sink.hook!.received.length;
      const failed = await runCli(['run', strict, '--local', '--date', '2024-03-03']);
      expect(failed.code).toBe(65);
      expect(failed.stderr).toMatch(
        new RegExp(
          String.raw`error \[QUALITY_DRIFT\]: .*batch_date=2024-03-03\/model_version=v3\/: predi` +
            String.raw`ctions drifted: default_probability PSI \d\.\d{3} > 0\.2 against 2024-03-02` +
            String.raw` .*nothing was published`,
        ),
      );
      expect(await out.head(manifestKey({ batchDate: '2024-03-03', modelVersion: 'v3' }))).toBeUndefined();
      expect((await out.list('batch_date=2024-03-03/')).filter((o) => o.key.endsWith('.parquet'))).toEqual([]);
      const fail = JSON.parse(sink.hook!.received.slice(before).at(-1)!.body);
      expect(fail).toMatchObject({
        event: 'batchscore.run.failed',
        status: 'failed',
        batch_date: '2024-03-03',
        error: { code: 'QUALITY_DRIFT' },
      });

      // Without failOnDrift the run completes, and the drift is a warning in the log and the manifest.
      const warned = await runCli(['run', jobFile, '--local', '--date', '2024-03-03']);
      expect(warned.code, warned.stderr).toBe(0);
      expect(warned.stderr).toMatch(
        /batchscore: warning: prediction drift: default_probability PSI \d\.\d{3} > 0\.2 against 2024-03-02/,
      );
      const m3 = await readManifest(out, '2024-03-03');
      expect(m3.quality!.drift.status).toBe('drift');
      expect(m3.quality!.drift.psi.default_probability).toBeGreaterThan(0.2);

      // compare: the same verdicts from the manifests alone.
      const runDir = (d: string) => path.join(dir, 'out', `batch_date=${d}`, 'model_version=v3') + '/';
      const ok = await runCli(['compare', runDir('2024-03-01'), runDir('2024-03-02'), '-o', 'json']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        drift: false,
        a: { batch_date: '2024-03-01' },
        b: { batch_date: '2024-03-02' },
      });
      const bad = await runCli(['compare', runDir('2024-03-02'), runDir('2024-03-03'), '--fail-on-drift']);
      expect(bad.code).toBe(65);
      expect(bad.stdout).toMatch(/default_probability {2}PSI \d\.\d{4} {2}DRIFT/);
      expect(bad.stderr).toContain('error [QUALITY_DRIFT]');
      // The PSI compare reports is the one merge recorded (both are B's sketch against A's histogram).
      const json = await runCli(['compare', runDir('2024-03-02'), runDir('2024-03-03'), '-o', 'json']);
      expect(JSON.parse(json.stdout).predictions.default_probability.psi).toBe(
        m3.quality!.drift.psi.default_probability,
      );
    },
  );

  it(
    'inspect shows a run readably (rows, shards, cost, provider, predictions, drift) ' +
      'and -o json prints the manifest as stored',
    async () => {
      const runFolder = path.join(dir, 'out', 'batch_date=2024-03-03', 'model_version=v3');
      const r = await runCli(['inspect', runFolder]);
      expect(r.code, r.stderr).toBe(0);
      const m = await readManifest(out, '2024-03-03');
      expect(r.stdout).toContain(`credit-risk 2024-03-03: complete`);
      expect(r.stdout).toContain(`  run          ${m.run_id}`);
      expect(r.stdout).toContain('  rows         60,000 read, 60,000 scored, 0 quarantined');
      expect(r.stdout).toContain(`  cost         ${m.cost!.total} EUR (${m.cost!.per_million_rows} per million rows;`);
      expect(r.stdout).toContain('  provider     cpu');
      expect(r.stdout).toMatch(/ {4}00002 +20,000 +20,000 +0 +\d+\.\d\d +[\d,]+ +1 {2}cpu /);
      expect(r.stdout).toMatch(/default_probability {2}mean 0\.\d+ {2}min .* \|[▁▂▃▄▅▆▇█ ]{20}\|/);
      expect(r.stdout).toMatch(
        new RegExp(
          String.raw`drift {8}DRIFT against 2024-03-02 \(credit-risk-2024-03-02-v3-[0-9a-f]{12}\)` +
            String.raw`: default_probability PSI \d\.\d{3} \(threshold 0\.2\)`,
        ),
      );
      const j = await runCli(['inspect', path.join(dir, 'out'), '--date', '2024-03-03', '-o', 'json']);
      expect(j.code, j.stderr).toBe(0);
      expect(JSON.parse(j.stdout)).toEqual(
        JSON.parse(await readFile(path.join(runFolder, '_batch_manifest.json'), 'utf8')) as BatchManifest,
      );
      const y = await runCli(['inspect', path.join(dir, 'out'), '--date', '2024-03-03', '-o', 'yaml']);
      expect(y.code, y.stderr).toBe(0);
      expect(parseYaml(y.stdout)).toEqual(JSON.parse(j.stdout));
      // A date not published: "not complete yet" (66), which a polling script tells from a failure (65, 75).
      const none = await runCli(['inspect', path.join(dir, 'out'), '--date', '2024-02-01']);
      expect(none.code).toBe(66);
      expect(none.stderr.trim()).toBe(
        `batchscore: error [RUN_INCOMPLETE]: file://${path.join(dir, 'out')}/batch_date=2024-02-01/: no run there ` +
          '(no _batch_manifest.json or _batch_failure.json)',
      );
    },
  );

  it(
    '--log-format json: every log line is one JSON object with a level; errors carry ' + 'their code and exit code',
    async () => {
      const jobFile = path.join(dir, 'job.yaml');
      const r = await runCli(['run', jobFile, '--local', '--date', '2024-03-01', '--log-format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      // Every line, on both streams: a log pipeline parses them all.
      const lines = r.stderr.trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines)
        expect(JSON.parse(l)).toMatchObject({
          level: expect.stringMatching(/^(info|warn)$/),
          name: 'batchscore',
          msg: expect.any(String),
          time: expect.any(String),
        });
      // The run's summary is one JSON line too.
      expect(r.stdout.split('\n')).toEqual([expect.any(String), '']);
      expect(JSON.parse(r.stdout)).toMatchObject({
        status: 'complete',
        rowsIn: expect.any(Number),
        manifest: expect.stringMatching(/_batch_manifest\.json$/),
      });
      const bad = await runCli(['run', path.join(dir, 'nope.yaml'), '--local', '--date', '2024-03-01'], {
        env: { BATCHSCORE_LOG_FORMAT: 'json' },
      });
      expect(bad.code).toBe(65);
      expect(JSON.parse(bad.stderr.trim().split('\n').at(-1)!)).toMatchObject({
        level: 'error',
        code: 'SPEC_INVALID',
        exitCode: 65,
        retryable: false,
        msg: expect.stringContaining('nope.yaml: cannot read job file'),
      });
    },
  );
});
