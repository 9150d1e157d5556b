import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { LocalStore, toParquetBytes } from '@batchscore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_MODEL, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers, writeCustomers } from '../support/data.js';

const DATE = '2024-12-01';

/** The lines batchscore printed as errors. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('batchscore: error'));

/** Mounts a tmpfs of `size` at a fresh folder; undefined where mounting is not permitted (not root, a sandbox). */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fills a file system until `leaveBytes` are free (or fewer). */
async function fillUntil(dir: string, leaveBytes: number): Promise<void> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (free > leaveBytes) await writeFile(path.join(dir, 'filler'), new Uint8Array(free - leaveBytes));
}

describe('a full disk is retryable (75), with one line', () => {
  let dir: string;
  let disk: string;
  let mounted = false;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-enospc-'));
    disk = path.join(dir, 'disk');
    await mkdir(disk);
    mounted = mountTmpfs(disk, '4m');
    await writeCustomers(new LocalStore(dir), 'in/', 100_000, 50_000, 10_000);
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [disk]);
  });

  it('ENOSPC while staging parts: exit 75 naming the file and the cause', async (ctx) => {
    if (!mounted) ctx.skip(); // `mount -t tmpfs` needs root; LocalStore.test.ts checks the errno mapping itself
    const out = path.join(disk, 'staging');
    const job = path.join(dir, 'job-staging.yaml');
    await writeFile(
      job,
      jobYaml({ input: path.join(dir, 'in/'), model: CREDIT_MODEL, output: out, rowsPerShard: 50_000 }),
    );
    // Room for the plan and the run lease, not for the parts of 100k scored rows.
    await fillUntil(disk, 48 * 1024);
    try {
      const r = await runCli(['run', job, '--local', '--date', DATE, '--workers', '1']);
      expect(r.code, r.stderr).toBe(75);
      const lines = errorLines(r.stderr);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^batchscore: error \[STORE_TRANSIENT\]: put "[^"]*part-[^"]*": no space left on device at \/.*\(ENOSPC\)/,
      );
    } finally {
      await rm(path.join(disk, 'filler'), { force: true });
      await rm(out, { recursive: true, force: true });
    }
  });

  it(
    'ENOSPC in merge (every shard scored, then the disk fills): exit 75, and a rerun ' + 'with room completes',
    async (ctx) => {
      if (!mounted) ctx.skip();
      const out = path.join(disk, 'merge');
      const job = path.join(dir, 'job-merge.yaml');
      await writeFile(
        job,
        jobYaml({ input: path.join(dir, 'in/'), model: CREDIT_MODEL, output: out, rowsPerShard: 50_000 }),
      );
      try {
        expect((await runCli(['plan', job, '--date', DATE])).code).toBe(0);
        for (const shard of ['0', '1'])
          expect((await runCli(['score', job, '--date', DATE, '--shard', shard])).code).toBe(0);
        await fillUntil(disk, 0);
        const r = await runCli(['merge', job, '--date', DATE]);
        expect(r.code, r.stderr).toBe(75);
        const lines = errorLines(r.stderr);
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(
          /^batchscore: error \[STORE_TRANSIENT\]: .*: no space left on device at \/.*\(ENOSPC\)/,
        );
        await rm(path.join(disk, 'filler'));
        const again = await runCli(['merge', job, '--date', DATE]);
        expect(again.code, again.stderr).toBe(0);
      } finally {
        await rm(path.join(disk, 'filler'), { force: true });
        await rm(out, { recursive: true, force: true });
      }
    },
  );
});

describe('exit 70 is for bugs only', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-exit-'));
    await writeCustomers(new LocalStore(dir), 'in/', 2_000, 2_000, 1_000);
  });

  it('an S3 endpoint whose host does not resolve: exit 75 with one line', async () => {
    const job = path.join(dir, 'dns.yaml');
    const extra = `  storage: {s3: {endpoint: "http://nonexistent.invalid:9000", forcePathStyle: true}}\n`;
    await writeFile(
      job,
      jobYaml({ input: 's3://bucket/in/', model: CREDIT_MODEL, output: path.join(dir, 'out-dns'), extra }),
    );
    const r = await runCli(['run', job, '--local', '--date', DATE], {
      env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' },
    });
    expect(r.code, r.stderr).toBe(75);
    const lines = errorLines(r.stderr);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^batchscore: error \[STORE_TRANSIENT\]: list s3:\/\/bucket\/in\/: transient failure \(ENOTFOUND/,
    );
  });

  it(
    'a partition value longer than a path segment may be: exit 65 naming the column and ' + 'the rule, nothing written',
    async () => {
      const t = makeCustomers(1_000, 0);
      const long = 'x'.repeat(300);
      const segment = arrow.vectorFromArray(
        Array.from({ length: t.numRows }, (_, i) => (i < 10 ? long : 'short')),
        new arrow.Utf8(),
      );
      const table = new arrow.Table({
        ...Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!])),
        segment,
      });
      await mkdir(path.join(dir, 'in-long'), { recursive: true });
      await writeFile(path.join(dir, 'in-long', 'part-000.parquet'), toParquetBytes(table));
      const job = path.join(dir, 'long.yaml');
      const out = path.join(dir, 'out-long');
      await writeFile(
        job,
        jobYaml({
          input: path.join(dir, 'in-long/'),
          model: CREDIT_MODEL,
          output: out,
          passthrough: ['customer_id', 'segment'],
          partitionBy: ['segment'],
        }),
      );
      const r = await runCli(['run', job, '--local', '--date', DATE]);
      expect(r.code, r.stderr).toBe(65);
      const lines = errorLines(r.stderr);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(
        `spec.output.partitionBy column "segment": value "${'x'.repeat(40)}…" (300 bytes) ` +
          `makes the folder name segment=${'x'.repeat(40)}… 308 bytes long; a folder name may ` +
          `be at most 255 bytes`,
      );
      expect(lines[0]).toMatch(/^batchscore: error \[INPUT_INVALID\]: spec\.output\.partitionBy column "segment": /);
      // Refused before anything was staged: no part of the run is under the output.
      const files = await readdir(out, { recursive: true });
      expect(files.filter((f) => f.endsWith('.parquet'))).toEqual([]);
    },
  );

  it('a YAML alias bomb in the job file: exit 65 SPEC_INVALID naming the file', async () => {
    const job = path.join(dir, 'bomb.yaml');
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    await writeFile(job, levels.join('\n') + '\n');
    const r = await runCli(['validate', job]);
    expect(r.code, r.stderr).toBe(65);
    expect(errorLines(r.stderr)).toEqual([
      `batchscore: error [SPEC_INVALID]: ${job}: not valid YAML: its aliases expand to ` +
        `too many nodes (a "billion laughs" resource exhaustion attack?); use each anchor ` +
        `fewer times`,
    ]);
  });
});
