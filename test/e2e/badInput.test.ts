import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { LocalStore, sha256Hex, toParquetBytes } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { CREDIT_MODEL, FIXTURE_MODELS, runCli } from '../support/cli.js';
import { jobYaml, makeCustomers } from '../support/data.js';

interface Case {
  name: string;
  /** Prepares the folder; returns the job file's text (or raw text for malformed cases). */
  setup(store: LocalStore, dir: string): Promise<string>;
  exit: number;
  /** Each error line must match, in order. */
  lines: (dir: string) => (string | RegExp)[];
}

const good = (o: Partial<Parameters<typeof jobYaml>[0]> = {}) =>
  jobYaml({ input: 'in/', model: CREDIT_MODEL, output: 'out/', ...o });
const customers = (store: LocalStore, key = 'in/a.parquet', t = makeCustomers(500)) =>
  store.put(key, toParquetBytes(t));
const without = (t: arrow.Table, col: string) => t.select(t.schema.fields.map((f) => f.name).filter((n) => n !== col));
const E = (code: string, rest: string | RegExp) =>
  typeof rest === 'string'
    ? `batchscore: error [${code}]: ${rest}`
    : new RegExp(`^batchscore: error \\[${code}\\]: ${rest.source}`);

const CASES: Case[] = [
  {
    name: 'a missing column',
    setup: async (s) => (await customers(s, 'in/a.parquet', without(makeCustomers(500), 'loan')), good()),
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_INVALID',
        `file://${d}/in/a.parquet: column "loan" not found (the file has customer_id, age, income, credit)`,
      ),
    ],
  },
  {
    name: 'a model input name the model does not have',
    setup: async (s) => (await customers(s), good({ inputs: '[{name: feats, columns: [age, income, credit, loan]}]' })),
    exit: 65,
    lines: () => [
      E(
        'MODEL_INVALID',
        `file://${CREDIT_MODEL}: spec.model.inputs[0].name: the model has no input "feats" (it has features)`,
      ),
      E(
        'MODEL_INVALID',
        `file://${CREDIT_MODEL}: spec.model.inputs: the model's input "features" is not given any columns`,
      ),
    ],
  },
  {
    name: 'a model output name the model does not have',
    setup: async (s) => (await customers(s), good({ outputs: '[{name: probs, index: 1, column: p}]' })),
    exit: 65,
    lines: () => [
      E(
        'MODEL_INVALID',
        `file://${CREDIT_MODEL}: spec.model.outputs[0].name: the model has no output "probs" ` +
          `(it has probabilities, label)`,
      ),
    ],
  },
  {
    name: 'a file that is not Parquet',
    setup: async (s) => (await customers(s), await s.put('in/b.parquet', 'customer_id,age\n1,2\n'), good()),
    exit: 65,
    lines: (d) => [E('INPUT_INVALID', new RegExp(`file://${d}/in/b\\.parquet: not a readable Parquet file \\(.+\\)$`))],
  },
  {
    name: 'an empty input folder',
    setup: async (s) => (await s.put('in/README.txt', 'no data yet'), good()),
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_NOT_FOUND',
        `file://${d}/in/: no parquet files found (1 other object ignored); spec.input.format is parquet`,
      ),
    ],
  },
  {
    name: 'an unknown URI scheme',
    setup: async () => good({ input: 'gs://bucket/customers/' }),
    exit: 65,
    lines: (d) => [
      E(
        'SPEC_INVALID',
        `${d}/job.yaml: spec.input.uri: unknown URI scheme "gs:" in "gs://bucket/customers/": ` +
          `expected s3://, file:// or a path`,
      ),
    ],
  },
  {
    name: 'a malformed job file',
    setup: async () => 'apiVersion: batchscore.dev/v1alpha1\nkind: ScoringJob\nspec: {input: [unclosed\n',
    exit: 65,
    lines: (d) => [E('SPEC_INVALID', new RegExp(`${d}/job\\.yaml: not valid YAML \\(line \\d+\\): .+`))],
  },
  {
    name: 'a job file with several problems, all reported at once',
    setup: async () =>
      good({ name: 'Credit_Risk', inputs: '[{name: features, columns: []}]', extra: '  retries: 3\n' }),
    exit: 65,
    lines: (d) => [
      E('SPEC_INVALID', new RegExp(`${d}/job\\.yaml: metadata\\.name: "Credit_Risk" must be lowercase`)),
      E('SPEC_INVALID', new RegExp(`${d}/job\\.yaml: spec\\.retries: unknown field`)),
      E(
        'SPEC_INVALID',
        `${d}/job.yaml: spec.model.inputs[0].columns: expected a non-empty list of column names, got []`,
      ),
    ],
  },
  {
    name: 'a model file that is not ONNX',
    setup: async (s) => (await customers(s), good({ model: path.join(FIXTURE_MODELS, 'not_a_model.onnx') })),
    exit: 65,
    lines: () => [
      E('MODEL_INVALID', new RegExp(`file://${FIXTURE_MODELS}not_a_model\\.onnx: not a loadable ONNX model \\(.+\\)$`)),
    ],
  },
  {
    // This machine has no CUDA provider (and no GPU): device cuda must fail with the reason instead of falling back.
    name: 'spec.worker.device cuda where CUDA cannot load',
    setup: async (s) => (await customers(s), good({ extra: '  worker: {device: cuda}\n' })),
    exit: 65,
    lines: () => [
      E(
        'MODEL_INVALID',
        new RegExp(
          `file://${CREDIT_MODEL}: spec\\.worker\\.device is cuda, but the CUDA execution provider cannot load: .+`,
        ),
      ),
    ],
  },
  {
    name: 'a model file that does not exist',
    setup: async (s) => (await customers(s), good({ model: '/nonexistent/credit.onnx' })),
    exit: 65,
    lines: () => [E('MODEL_INVALID', 'file:///nonexistent/credit.onnx: model file does not exist (spec.model.uri)')],
  },
  {
    name: 'a feature column that is not numeric',
    setup: async (s) => {
      const t = makeCustomers(10);
      const bad = new arrow.Table({
        ...Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!])),
        age: arrow.vectorFromArray(Array(10).fill('old'), new arrow.Utf8()),
      });
      await customers(s, 'in/a.parquet', bad);
      return good();
    },
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_INVALID',
        `file://${d}/in/: column "age" is Utf8 (strings), but model input "features" is tensor(float32); ` +
          `model features must be numeric unless the model takes them as tensor(string)`,
      ),
    ],
  },
  {
    name: 'an empty (0-byte) file',
    setup: async (s) => (await customers(s), await s.put('in/b.parquet', new Uint8Array()), good()),
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_INVALID',
        `file://${d}/in/b.parquet: not a readable Parquet file (EOF: file size of 0 is less than footer)`,
      ),
    ],
  },
  {
    name: 'an input with no rows',
    setup: async (s) => (await customers(s, 'in/a.parquet', makeCustomers(0)), good()),
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_INVALID',
        `file://${d}/in/: the input has no rows (1 file); set spec.input.allowEmpty: true ` +
          `if an empty input is a complete run`,
      ),
    ],
  },
  {
    name: 'a truncated Parquet file (an upload cut short)',
    setup: async (s) => {
      const full = toParquetBytes(makeCustomers(5_000), undefined, 1_000);
      await s.put('in/a.parquet', full.subarray(0, Math.floor(full.length / 2)));
      return good();
    },
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_INVALID',
        `file://${d}/in/a.parquet: not a readable Parquet file (Parquet error: Invalid Parquet file. Corrupt footer)`,
      ),
    ],
  },
  {
    name: 'corrupt data pages behind a sound footer (the decoder aborts)',
    setup: async (s) => {
      const bytes = Uint8Array.from(toParquetBytes(makeCustomers(5_000), undefined, 1_000));
      bytes.fill(0x5a, 200, 20_000);
      await s.put('in/a.parquet', bytes);
      return good();
    },
    exit: 65,
    lines: (d) => [
      /^batchscore: planned 1 shard \(5,000 rows\) from 1 file; /,
      E(
        'INPUT_INVALID',
        `file://${d}/in/a.parquet: row groups 0-4: the Parquet decoder aborted (unreachable): ` +
          `the data is corrupt, or the decoder ran out of memory`,
      ),
    ],
  },
  {
    name: 'a CSV line with the wrong number of fields',
    setup: async (s) => (
      await s.put('in/a.csv', 'customer_id,age,income,credit,loan\n1,30,1000,700,500\n2,31,1000\n'),
      good({ format: 'csv' })
    ),
    exit: 65,
    lines: (d) => [
      /^batchscore: planned 1 shard from 1 file; /,
      E('INPUT_INVALID', `file://${d}/in/a.csv at byte 53: 3 fields, but the header has 5`),
    ],
  },
  {
    name: 'files whose schemas differ',
    setup: async (s) => {
      await customers(s, 'in/a.parquet');
      const t = makeCustomers(10);
      const ints = arrow.makeVector(Int32Array.from(t.getChild('income')!.toArray() as Float64Array));
      await customers(
        s,
        'in/b.parquet',
        new arrow.Table({
          ...Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!])),
          income: ints,
        }),
      );
      return good();
    },
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_INVALID',
        `file://${d}/in/b.parquet: column "income" is Int32, but earlier input files have ` +
          `Float64; all files must share a schema`,
      ),
    ],
  },
  ...(['list_view', 'nested_list_view'] as const).map((fixture): Case => ({
    // pyarrow writes list_view columns to Parquet with their type in the file's Arrow schema, which apache-arrow
    // cannot decode (was: exit 70, 'Unrecognized type: "ListView" (25)', whatever columns the job used).
    name: `a Parquet file holding a column of a type batchscore cannot read (${fixture})`,
    setup: async (s) => (await s.put('in/a.parquet', await readFile(ARROW_VIEWS + fixture + '.parquet')), good()),
    exit: 65,
    lines: (d) => [
      E(
        'INPUT_INVALID',
        `file://${d}/in/a.parquet: column ${fixture === 'list_view' ? '"tags"' : '"info"'} holds an Arrow type ` +
          `batchscore cannot read (list_view, Arrow format "+vl"); write it as a list ` +
          `(pyarrow: .cast(pa.list_(...))) or leave it out of the file`,
      ),
    ],
  })),
];

/** Parquet files pyarrow wrote with Arrow-only types (scripts/fixtures/make_arrow_views.py). */
const ARROW_VIEWS = fileURLToPath(new URL('../fixtures/arrow-views/', import.meta.url));

describe('bad input: a clear error naming the file or field, a non-zero exit, and nothing that looks complete', () => {
  it.each(CASES)('$name', async (c) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-bad-'));
    const store = new LocalStore(dir);
    await writeFile(path.join(dir, 'job.yaml'), await c.setup(store, dir));
    const inputBefore = await snapshot(store, 'in/');
    const r = await runCli(['run', path.join(dir, 'job.yaml'), '--local', '--date', '2024-06-01']);
    expect(r.code, r.stderr).toBe(c.exit);
    // On a machine without CUDA, device auto warns once (and only once) before going on with CPU.
    const all = r.stderr.trim().split('\n');
    const lines = all.filter((l) => !l.startsWith('batchscore: warning: CUDA is not available'));
    expect(all.length - lines.length).toBeLessThanOrEqual(1);
    const expected = c.lines(dir);
    expect(lines.length, r.stderr).toBe(expected.length);
    expected.forEach((e, i) => (typeof e === 'string' ? expect(lines[i]).toBe(e) : expect(lines[i]).toMatch(e)));
    expect((await store.list('')).filter((o) => o.key.endsWith('_batch_manifest.json'))).toEqual([]);
    expect(await snapshot(store, 'in/')).toEqual(inputBefore);
  });

  it('usage errors exit 64 and say in one line what is expected and where the help is', async () => {
    const r = await runCli(['run', 'job.yaml']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      'batchscore: error [USAGE]: batchscore run needs --local (on a cluster, render the Argo Workflow and ' +
        "submit it); see 'batchscore run --help'\n",
    );
    const d = await runCli(['run', 'job.yaml', '--local', '--date', '2024-02-30']);
    expect(d.code).toBe(64);
    expect(d.stderr).toBe(
      'batchscore: error [USAGE]: --date "2024-02-30": expected a calendar date YYYY-MM-DD; ' +
        "see 'batchscore run --help'\n",
    );
    const none = await runCli(['run']);
    expect([none.code, none.stdout, none.stderr]).toEqual([
      64,
      '',
      "batchscore: error [USAGE]: expected one job file; see 'batchscore run --help'\n",
    ]);
    const unknown = await runCli(['nope']);
    expect([unknown.code, unknown.stdout]).toEqual([64, '']);
    expect(unknown.stderr).toMatch(
      /^batchscore: error \[USAGE\]: unknown command "nope" \(commands: run, plan, .*\); see 'batchscore --help'\n$/,
    );
  });
});

async function snapshot(store: LocalStore, prefix: string) {
  const out: Record<string, string> = {};
  for (const o of await store.list(prefix))
    out[o.key] = sha256Hex(await readFile(path.join(store.rootUri.replace('file://', ''), o.key)));
  return out;
}
