import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore, runDir } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { customersAsText, jobYaml, makeCustomers, writeCustomers } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';

/**
 * A published run that lost a file, or holds a short or altered one, says so: `inspect` reports it (and with
 * --verify checks every checksum), `merge` refuses to call it complete, `plan --skip-complete` plans it, and `run`
 * scores the shards that wrote the damaged files again and publishes them again.
 */

const DATE = '2024-09-01';
const RUN = runDir({ batchDate: DATE, modelVersion: 'v3' });

async function completeRun() {
  const dir = await mkdtemp(path.join(tmpdir(), 'bs-damaged-'));
  const { table } = await writeCustomers(new LocalStore(dir), 'in/', 8_000, 2_000, 1_000);
  const job = path.join(dir, 'job.yaml');
  await writeFile(
    job,
    jobYaml({
      input: 'in/',
      model: CREDIT_MODEL,
      output: 'out/',
      rowsPerShard: 2_000,
      extra: '  validation: {ranges: {age: {max: 74}}, maxInvalidFraction: 0.5}\n',
    }),
  );
  const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '2'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const out = new LocalStore(path.join(dir, 'out'));
  const m = await readManifest(out, DATE);
  expect(m.shard_count).toBe(4);
  expect(m.quarantine.files.length).toBeGreaterThan(0);
  return { dir, job, out, m, table, file: (p: string) => path.join(dir, 'out', RUN, p) };
}

describe('a damaged published run', () => {
  it('missing a part: inspect and merge say so, plan --skip-complete plans it, run rescores its shard', async () => {
    const { dir, job, out, m, table, file } = await completeRun();
    const lost = m.files.find((f) => f.path.startsWith('part-00002-'))!;
    await rm(file(lost.path));
    const manifestUri = `file://${dir}/out/${RUN}_batch_manifest.json`;

    const inspect = await runCli(['inspect', job, '--date', DATE], { cwd: dir });
    expect(inspect.code).toBe(65);
    expect(inspect.stdout).toContain('rows'); // the summary is still shown
    expect(inspect.stderr.trim()).toBe(
      `batchscore: error [RUN_INVALID]: ${manifestUri}: the published run is damaged: 1 of ` +
        `${m.files.length + m.quarantine.files.length} published files are damaged: file://${file(lost.path)} is missing`,
    );

    const merge = await runCli(['merge', job, '--date', DATE], { cwd: dir });
    expect(merge.code).toBe(65);
    expect(merge.stderr).toContain(`error [RUN_INVALID]: ${manifestUri}: the published run is damaged (`);
    expect(merge.stderr).toContain('shard 2 was not scored again to replace it: run the job again');
    expect(await readFile(path.join(dir, 'out', RUN, '_batch_manifest.json'), 'utf8')).toContain(m.run_id);

    const skip = await runCli(['plan', job, '--date', DATE, '--skip-complete'], { cwd: dir });
    expect(skip.code, skip.stderr).toBe(0);
    expect(JSON.parse(skip.stdout)).toMatchObject({ shards: 4 });
    expect(skip.stderr).toContain('shard 2 will be scored again');

    const again = await runCli(['run', job, '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`warning: ${manifestUri}: 1 of`);
    expect(again.stderr).toContain('scoring shard 2 again to publish it again');
    const repaired = await readManifest(out, DATE);
    // Shard 2 alone was scored again; the others kept their commits and parts.
    const rescored = repaired.shards.map((s, i) => s.started_at !== m.shards[i]!.started_at);
    expect(rescored).toEqual([false, false, true, false]);
    expect(repaired.record_count).toBe(m.record_count);
    const { table: rows } = await readOutputRows(out, repaired);
    expect(rows.numRows).toBe(m.record_count);
    expect(new Set(Array.from(rows.getChild('customer_id')!.toArray() as BigInt64Array, String)).size).toBe(
      m.record_count,
    );
    expect(table.numRows).toBe(8_000);
    const ok = await runCli(['inspect', job, '--date', DATE, '--verify'], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a short quarantine file is found by its size; a same-size altered part only by inspect --verify', async () => {
    const { dir, job, m, file } = await completeRun();
    const part = m.files[0]!;
    const bytes = await readFile(file(part.path));
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(file(part.path), bytes);
    expect((await runCli(['inspect', job, '--date', DATE], { cwd: dir })).code).toBe(0);
    const verify = await runCli(['inspect', job, '--date', DATE, '--verify'], { cwd: dir });
    expect(verify.code).toBe(65);
    expect(verify.stderr).toContain(`file://${file(part.path)} has sha256 `);
    expect(verify.stderr).toContain(`…, the manifest says ${part.sha256.slice(0, 12)}…`);

    const q = m.quarantine.files[0]!;
    const qfile = path.join(dir, 'out', '_quarantine', RUN, q.path);
    await truncate(qfile, 10);
    const inspect = await runCli(['inspect', job, '--date', DATE], { cwd: dir });
    expect(inspect.code).toBe(65);
    expect(inspect.stderr).toContain(`file://${qfile} has 10 bytes, the manifest says ${q.bytes}`);
    const again = await runCli(['run', job, '--local', '--date', DATE], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect((await runCli(['inspect', job, '--date', DATE], { cwd: dir })).code).toBe(0);
  });
});

describe('input files skipped for their extension', () => {
  it('are named in one warning line when planning and counted in the manifest', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-skipped-'));
    const store = new LocalStore(dir);
    await store.put('in/a.csv', customersAsText(makeCustomers(100, 0), 'csv'));
    await store.put('in/b.csv.gz', 'not read');
    await store.put('in/notes.txt', 'not read');
    await store.put('in/_SUCCESS', '');
    await store.put('in/.a.csv.crc', '');
    const job = path.join(dir, 'job.yaml');
    await writeFile(job, jobYaml({ input: 'in/', format: 'csv', model: CREDIT_MODEL, output: 'out/' }));
    const r = await runCli(['run', job, '--local', '--date', DATE], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('skipped'));
    expect(warnings).toEqual([
      `batchscore: warning: file://${dir}/in/: 2 files skipped, not named as csv (.csv, .tsv): b.csv.gz, notes.txt`,
    ]);
    const m = await readManifest(new LocalStore(path.join(dir, 'out')), DATE);
    expect(m.input).toMatchObject({ file_count: 1, skipped_file_count: 2 });
  });
});
