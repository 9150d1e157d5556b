import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore, runDir, sha256Hex, type BatchManifest } from '@batchscore/core';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';
import { compareToReference, referenceScores } from '../support/reference.js';

const require = createRequire(import.meta.url);

const ROWS = 120_000;
const DATE = '2024-01-15';

describe('batchscore run --local on local files', () => {
  let dir: string;
  let job: string;
  let out: LocalStore;
  let expectedScores: Float32Array;
  let ids: BigInt64Array;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-local-'));
    // 3 files (50k, 50k, 20k) of 10k-row groups; 35k rows per shard → 4 shards of 30k, two of them spanning files.
    const { table: all } = await writeCustomers(new LocalStore(dir), 'in/', ROWS, 50_000, 10_000);
    job = path.join(dir, 'job.yaml');
    await writeFile(job, jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', rowsPerShard: 35_000 }));
    out = new LocalStore(path.join(dir, 'out'));
    expectedScores = await referenceScores(all);
    ids = all.getChild('customer_id')!.toArray() as BigInt64Array;
  });

  it(
    'scores every input row exactly once with the score onnxruntime gives, and writes ' + 'a correct manifest last',
    async () => {
      const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '2']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('120,000 scored of 120,000 read, in 4 shards');

      const m = await readManifest(out, DATE);
      const sha = sha256Hex(await readFile(CREDIT_MODEL));
      expect(m).toMatchObject({
        manifest_version: 1,
        status: 'complete',
        job: 'credit-risk',
        batch_date: DATE,
        record_count: ROWS,
        input_record_count: ROWS,
        shard_count: 4,
        run_id: `credit-risk-${DATE}-v3-${sha.slice(0, 12)}`,
        execution_provider: 'cpu',
        model: { version: 'v3', sha256: sha, uri: `file://${CREDIT_MODEL}` },
        output: {
          uri: `file://${dir}/out/batch_date=${DATE}/model_version=v3/`,
          columns: [
            { name: 'customer_id', type: 'Int64' },
            { name: 'default_probability', type: 'Float32' },
          ],
          partition_by: [],
        },
        quarantine: {
          uri: `file://${dir}/out/_quarantine/batch_date=${DATE}/model_version=v3/`,
          by_reason: {},
          files: [],
          invalid_fraction: 0,
        },
        bookkeeping: {
          uri: `file://${dir}/out/_batchscore/${DATE}/v3/`,
          plan: `file://${dir}/out/_batchscore/${DATE}/v3/plan.json`,
        },
        resumed: false,
      });
      const inputs = await new LocalStore(path.join(dir, 'in')).list('');
      expect(m.input).toEqual({
        uri: `file://${dir}/in/`,
        format: 'parquet',
        file_count: 3,
        bytes: inputs.reduce((n, o) => n + o.size, 0),
        files: inputs.map((o, i) => ({
          uri: `file://${dir}/in/${o.key}`,
          rows: [50_000, 50_000, 20_000][i],
          bytes: o.size,
        })),
      });
      // Resumes aside, the wall time is the attempt's and the speed is per second of scoring.
      expect(m.scoring_seconds).toBeCloseTo(
        m.shards.reduce((n, s) => n + s.duration_s, 0),
        2,
      );
      expect(m.throughput_rows_per_s).toBe(Math.round(ROWS / m.scoring_seconds));
      expect(m.shards.map((s) => [s.index, s.rows_in, s.rows_out])).toEqual(
        [0, 1, 2, 3].map((i) => [i, 30_000, 30_000]),
      );
      // Which build scored each shard: this machine's Node and onnxruntime; no image outside a pod.
      const ort = JSON.parse(await readFile(require.resolve('onnxruntime-node/package.json'), 'utf8')).version;
      expect(m.shards.map((s) => [s.image, s.node_version, s.onnxruntime_version])).toEqual(
        [0, 1, 2, 3].map(() => [undefined, process.version, ort]),
      );
      expect(m.files.reduce((n, f) => n + f.rows, 0)).toBe(ROWS);
      expect(Date.parse(m.finished_at)).toBeGreaterThanOrEqual(Date.parse(m.started_at));

      const dirKey = runDir({ batchDate: DATE, modelVersion: 'v3' });
      const manifestTime = (await stat(path.join(dir, 'out', dirKey, '_batch_manifest.json'))).mtimeMs;
      for (const f of m.files) {
        const st = await stat(path.join(dir, 'out', dirKey, f.path));
        expect(st.size).toBe(f.bytes);
        expect(sha256Hex(await readFile(path.join(dir, 'out', dirKey, f.path)))).toBe(f.sha256);
        expect(st.mtimeMs).toBeLessThanOrEqual(manifestTime);
      }
      // Staged parts were moved, not copied: nothing scored is left outside the run folder.
      expect((await out.list('_batchscore/')).filter((o) => /\.(parquet|parq|staged)$/.test(o.key))).toEqual([]);

      const { table } = await readOutputRows(out, m);
      const cmp = compareToReference(table, ids, expectedScores);
      expect(cmp).toEqual({ duplicated: 0, missing: 0, unknown: 0, maxDiff: cmp.maxDiff, rows: ROWS });
      expect(cmp.maxDiff).toBe(0); // bit for bit: batching and tuning never change a score on CPU
      expect(String(table.getChild('default_probability')!.type)).toBe('Float32');
    },
  );

  it('leaves a complete run alone on a rerun, and rescores it with --force', async () => {
    const before = await readManifest(out, DATE);
    const again = await runCli(['run', job, '--local', '--date', DATE]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already complete');
    expect((await readManifest(out, DATE)).finished_at).toBe(before.finished_at);

    const forced = await runCli(['run', job, '--local', '--date', DATE, '--force', '--workers', '1']);
    expect(forced.code, forced.stderr).toBe(0);
    const after: BatchManifest = await readManifest(out, DATE);
    expect(after.finished_at).not.toBe(before.finished_at);
    expect(after.record_count).toBe(ROWS);
    expect(after.files.map((f) => f.path)).toEqual(before.files.map((f) => f.path));
  });

  it('runs the stages as separate commands, as the Argo pods do', async () => {
    const date = '2024-01-16';
    const plan = await runCli(['plan', job, '--date', date]);
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout) as { plan: string; shards: number; rows: number };
    expect(planned).toMatchObject({ shards: 4, rows: ROWS });
    expect(planned.plan).toBe(out.uriOf(`_batchscore/${date}/v3/plan.json`));

    // Not complete yet (66), which a polling script tells from a failure (65, 75); nothing is published.
    const early = await runCli(['merge', '--plan', planned.plan]);
    expect([early.code, early.stdout]).toEqual([66, '']);
    expect(early.stderr).toBe(
      'batchscore: error [RUN_INCOMPLETE]: 4 of 4 shards have not committed (00000, 00001, 00002, 00003); ' +
        'score them, then merge again\n',
    );

    for (let i = 0; i < planned.shards; i++) {
      const s = await runCli(['score', '--plan', planned.plan, '--shard', String(i)]);
      expect(s.code, s.stderr).toBe(0);
      expect(JSON.parse(s.stdout)).toMatchObject({ shard: i, rowsIn: 30_000, rowsOut: 30_000 });
    }
    // -o yaml: a YAML document a shard (here skipped, as committed), `---` first so that a stride's parse as one.
    const stride = await runCli(['score', '--plan', planned.plan, '--pod', '0', '--pods', '2', '-o', 'yaml']);
    expect(stride.code, stride.stderr).toBe(0);
    expect(parseAllDocuments(stride.stdout).map((d) => d.toJS())).toEqual(
      [0, 2].map((shard) => ({
        shard,
        rowsIn: 30_000,
        rowsOut: 30_000,
        files: 1,
        executionProvider: 'cpu',
        skipped: true,
      })),
    );
    const merged = await runCli(['merge', job, '--date', date, '-o', 'yaml']);
    expect(merged.code, merged.stderr).toBe(0);
    expect(parseYaml(merged.stdout)).toMatchObject({ status: 'complete', rowsIn: ROWS, rowsOut: ROWS, shards: 4 });
    const m = await readManifest(out, date);
    expect(m.record_count).toBe(ROWS);
    // Merging again changes nothing: the manifest is the same file.
    const again = await runCli(['merge', '--plan', planned.plan]);
    expect(again.code, again.stderr).toBe(0);
    expect((await readManifest(out, date)).finished_at).toBe(m.finished_at);
    // A score pod retried after the merge finds its shard published: nothing is scored or staged again.
    const late = await runCli(['score', '--plan', planned.plan, '--shard', '2']);
    expect(late.code, late.stderr).toBe(0);
    expect(JSON.parse(late.stdout)).toMatchObject({ shard: 2, rowsIn: 30_000, skipped: true });
    expect((await out.list(`_batchscore/${date}/v3/shards/`)).filter((o) => o.key.includes('/attempt-'))).toEqual([]);
  });
});
