import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '@batchscore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CREDIT_MODEL, REPO, runCli } from '../support/cli.js';
import { jobYaml, writeCustomers } from '../support/data.js';

const VERSION = JSON.parse(await readFile(path.join(REPO, 'packages/cli/package.json'), 'utf8')).version as string;
const ORT = (
  createRequire(path.join(REPO, 'packages/worker/package.json'))('onnxruntime-node/package.json') as { version: string }
).version;

describe('batchscore --version and batchscore version', () => {
  it('--version prints one line', async () => {
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `batchscore ${VERSION}\n`, stderr: '' });
  });

  const info = {
    version: VERSION,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    onnxruntime: ORT,
    jobApiVersion: 'batchscore.dev/v1alpha1',
  };

  it('version prints one line; -o json one JSON line; -o yaml the same object as YAML', async () => {
    expect((await runCli(['version'])).stdout).toBe(
      `batchscore ${VERSION} (node ${process.version}, ${info.platform}, onnxruntime-node ` +
        `${ORT}, reads batchscore.dev/v1alpha1)\n`,
    );
    const json = await runCli(['version', '-o', 'json']);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe(JSON.stringify(info) + '\n');
    const yaml = await runCli(['version', '--output=yaml']);
    expect(yaml.stdout).toBe(
      `version: ${VERSION}\nnode: ${process.version}\nplatform: ${info.platform}\nonnxruntime: ` +
        `${ORT}\njobApiVersion: batchscore.dev/v1alpha1\n`,
    );
    expect(parseYaml(yaml.stdout)).toEqual(info);
  });

  it('a bad -o value or an argument is a usage error (64)', async () => {
    const bad = await runCli(['version', '-o', 'xml']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toBe(
      `batchscore: error [USAGE]: -o/--output "xml": expected json or yaml; see 'batchscore version --help'\n`,
    );
    const extra = await runCli(['version', 'now']);
    expect(extra.code).toBe(64);
    expect(extra.stderr).toBe(
      `batchscore: error [USAGE]: version takes no arguments, got "now"; see 'batchscore version --help'\n`,
    );
  });
});

describe('plan -o json|yaml', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bs-plan-output-'));
    await writeCustomers(new LocalStore(dir), 'in/', 1_000, 1_000, 500);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the same object as one JSON line (default, -o json) or as YAML (-o yaml)', async () => {
    const out = (name: string) => path.join(dir, name);
    const job = async (name: string) => {
      const file = path.join(dir, `${name}.yaml`);
      await writeFile(
        file,
        jobYaml({ input: path.join(dir, 'in/'), model: CREDIT_MODEL, output: out(name), rowsPerShard: 500 }),
      );
      return file;
    };
    const byDefault = await runCli(['plan', await job('default'), '--date', '2024-01-15']);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    const lines = byDefault.stdout.split('\n');
    expect(lines).toHaveLength(2);
    const plan = JSON.parse(lines[0]);
    expect(Object.keys(plan)).toEqual(['plan', 'shards', 'rows', 'runId']);
    expect([plan.shards, plan.rows]).toEqual([2, 1000]);

    const json = await runCli(['plan', await job('json'), '--date', '2024-01-15', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual({
      ...plan,
      plan: plan.plan.replace('/default/', '/json/'),
      runId: expect.any(String),
    });

    const yaml = await runCli(['plan', await job('yaml'), '--date', '2024-01-15', '-o', 'yaml']);
    expect(yaml.code, yaml.stderr).toBe(0);
    const doc = parseYaml(yaml.stdout);
    expect(yaml.stdout).toBe(`plan: ${doc.plan}\nshards: 2\nrows: 1000\nrunId: ${doc.runId}\n`);
    expect(doc).toEqual({ ...plan, plan: plan.plan.replace('/default/', '/yaml/'), runId: expect.any(String) });

    // -o name: the plan created, by its URI alone (what score and merge take as --plan).
    const name = await runCli(['plan', await job('name'), '--date', '2024-01-15', '-o', 'name']);
    expect(name.code, name.stderr).toBe(0);
    expect(name.stdout).toBe(plan.plan.replace('/default/', '/name/') + '\n');
  });

  it('a bad -o value is a usage error before any plan is written', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      jobYaml({ input: path.join(dir, 'in/'), model: CREDIT_MODEL, output: path.join(dir, 'bad') }),
    );
    const r = await runCli(['plan', file, '--date', '2024-01-15', '-o', 'table']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      `batchscore: error [USAGE]: -o/--output "table": expected json, yaml or name; see 'batchscore plan --help'\n`,
    );
    await expect(readdir(path.join(dir, 'bad'))).rejects.toThrow(/ENOENT/); // nothing written to the output at all
  });
});
