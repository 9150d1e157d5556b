import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { LocalStore, openParquet, streamParquet } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { jobYaml } from '../support/data.js';
import { readManifest, readOutputRows } from '../support/output.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/real-models/', import.meta.url));
const DATE = '2024-05-01';

/**
 * Classifiers as teams export them (scripts/fixtures/make_real_models.py): skl2onnx's GradientBoosting pipeline and
 * LightGBM with their default ZipMap probability output (a sequence of maps onnxruntime-node cannot return), and
 * XGBoost's plain tensor. Each is scored by `run --local` from Parquet and from CSV and compared, row by row, with
 * onnxruntime-python's probabilities (the same runtime: float32 equal to 1e-6) and with the training library's own
 * predict_proba (float64), within what float32 trees allow: 1e-6 for LightGBM and XGBoost (measured 1.3e-7 and
 * 7.5e-8 when fixtures were made); for sklearn's GradientBoosting 0.03 and at most 2 of 300 rows past 1e-4, since
 * ONNX's float32 split thresholds send a value that lies between a threshold and its float32 rounding down the
 * other branch (measured 0.028 on 2 rows).
 */
const stacked = (cols: string[]) => `[{name: features, columns: [${cols.join(', ')}]}]`;
// skl2onnx's to_onnx(pipe, X_df): one [N, 1] input per DataFrame column, strings as tensor(string).
const perColumn = (cols: string[]) => `[${cols.map((c) => `{name: ${c}, columns: [${c}]}`).join(', ')}]`;
const ONEHOT = ['age', 'income', 'tenure_months', 'monthly_charges', 'region', 'plan'];
const MODELS = [
  {
    name: 'sk_gbc',
    inputs: stacked(['age', 'income', 'credit', 'loan']),
    proba: '{name: output_probability, label: 1, column: p_churn}',
    label: 'output_label',
    refTol: 0.03,
    refRowsPast1e4: 2,
  },
  {
    name: 'lgbm',
    inputs: stacked(['age', 'income', 'credit', 'loan', 'tenure_months', 'autopay']),
    proba: '{name: probabilities, index: 1, column: p_churn}',
    label: 'label',
    refTol: 1e-6,
    refRowsPast1e4: 0,
  },
  {
    name: 'xgb',
    inputs: stacked(['age', 'income', 'credit', 'loan', 'tenure_months', 'monthly_charges']),
    proba: '{name: probabilities, index: 1, column: p_churn}',
    label: 'label',
    refTol: 1e-6,
    refRowsPast1e4: 0,
  },
  // StandardScaler + OneHotEncoder(handle_unknown="ignore") on two string columns + LogisticRegression; the input
  // holds unseen categories ("atlantis", "North" for "north", "enterprise").
  {
    name: 'sk_onehot_zipmap',
    inputs: perColumn(ONEHOT),
    proba: '{name: output_probability, label: 1, column: p_churn}',
    label: 'output_label',
    refTol: 1e-6,
    refRowsPast1e4: 0,
  },
  {
    name: 'sk_onehot_nozipmap',
    inputs: perColumn(ONEHOT),
    proba: '{name: probabilities, index: 1, column: p_churn}',
    label: 'label',
    refTol: 1e-6,
    refRowsPast1e4: 0,
  },
] as const;

async function readTable(file: string): Promise<arrow.Table> {
  const store = new LocalStore(path.dirname(file));
  const pf = await openParquet(store, path.basename(file));
  const groups = Array.from({ length: pf.metadata().numRowGroups() }, (_, i) => i);
  const batches: arrow.RecordBatch[] = [];
  for await (const t of streamParquet(pf, { rowGroups: groups, batchSize: 1 << 16 })) batches.push(...t.batches);
  pf.free();
  return new arrow.Table(batches);
}

describe('real-world classifiers score as their training library predicts', () => {
  for (const m of MODELS) {
    for (const format of ['parquet', 'csv'] as const) {
      it(
        `${m.name} from ${format}: every row once, probabilities within tolerance of the ` + `library's, labels equal`,
        async () => {
          await scoreAndCompare(m, format, 'input');
        },
      );
    }
  }

  for (const name of ['sk_onehot_zipmap', 'sk_onehot_nozipmap'] as const) {
    it(
      `${name}: a null string feature (Parquet) is quarantined with reason null, or scored ` +
        `as "" with nullStrings: empty; CSV has no null, so its empty field is scored as ` +
        `""`,
      async () => {
        const m = MODELS.find((x) => x.name === name)!;
        const input = await readTable(path.join(FIXTURES, `${name}.nulls.parquet`));
        const region = input.getChild('region')!;
        const plan = input.getChild('plan')!;
        const byReason: Record<string, number> = {};
        for (let i = 0; i < input.numRows; i++) {
          // A row's first problem names it: string features are checked in the job's column order.
          const first = region.get(i) === null ? 'region: null' : plan.get(i) === null ? 'plan: null' : undefined;
          if (first) byReason[first] = (byReason[first] ?? 0) + 1;
        }
        const nulls = Object.values(byReason).reduce((a, b) => a + b, 0);
        expect(nulls).toBeGreaterThan(0);
        const { manifest } = await scoreAndCompare(m, 'parquet', 'nulls', { quarantined: nulls });
        expect(manifest.quarantine.by_reason).toEqual(byReason);
        // scikit-learn reads a missing category as unknown, as the model does "": the same probabilities.
        await scoreAndCompare(m, 'csv', 'nulls');
        await scoreAndCompare(m, 'parquet', 'nulls', { nullStrings: 'empty' });
      },
    );
  }

  async function scoreAndCompare(
    m: (typeof MODELS)[number],
    format: 'parquet' | 'csv',
    set: 'input' | 'nulls',
    o: { quarantined?: number; nullStrings?: 'empty' } = {},
  ) {
    const dir = await mkdtemp(path.join(tmpdir(), `bs-real-${m.name}-`));
    await copyFile(path.join(FIXTURES, `${m.name}.${set}.${format}`), path.join(dir, `input.${format}`));
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        name: m.name.replaceAll('_', '-'),
        input: `${dir}/input.${format}`,
        format,
        model: path.join(FIXTURES, `${m.name}.onnx`),
        output: `${dir}/out/`,
        passthrough: ['id'],
        inputs: m.inputs,
        outputs: `[${m.proba}, {name: ${m.label}, column: predicted}]`,
        extra: `  validation: {maxInvalidFraction: 1${o.nullStrings ? `, nullStrings: ${o.nullStrings}` : ''}}\n`,
      }),
    );
    const r = await runCli(['run', job, '--local', '--date', DATE]);
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const manifest = await readManifest(out, DATE);
    const { table } = await readOutputRows(out, manifest);
    const expected = await readTable(
      path.join(FIXTURES, set === 'input' ? `${m.name}.expected.parquet` : `${m.name}.nulls.expected.parquet`),
    );
    if (o.quarantined !== undefined) {
      expect([manifest.record_count, manifest.quarantined_record_count]).toEqual([
        expected.numRows - o.quarantined,
        o.quarantined,
      ]);
      return { manifest };
    }
    expect([manifest.record_count, manifest.quarantined_record_count, table.numRows]).toEqual([
      expected.numRows,
      0,
      expected.numRows,
    ]);

    const byId = new Map<number, number>();
    const ids = table.getChild('id')!;
    for (let i = 0; i < table.numRows; i++) byId.set(Number(ids.get(i)), i);
    expect(byId.size).toBe(expected.numRows);
    const p = table.getChild('p_churn')!;
    const predicted = table.getChild('predicted')!;
    let ortMax = 0;
    let refMax = 0;
    let past1e4 = 0;
    const labels: [number, number][] = [];
    const eids = expected.getChild('id')!;
    for (let i = 0; i < expected.numRows; i++) {
      const row = byId.get(Number(eids.get(i)))!;
      const got = p.get(row) as number;
      ortMax = Math.max(ortMax, Math.abs(got - (expected.getChild('ort_proba_1')!.get(i) as number)));
      const ref = Math.abs(got - (expected.getChild('proba_1')!.get(i) as number));
      refMax = Math.max(refMax, ref);
      if (ref > 1e-4) past1e4++;
      labels.push([Number(predicted.get(row)), Number(expected.getChild('ort_label')!.get(i))]);
    }
    expect(ortMax).toBeLessThanOrEqual(1e-6);
    expect(refMax).toBeLessThanOrEqual(m.refTol);
    expect(past1e4).toBeLessThanOrEqual(m.refRowsPast1e4);
    expect(labels.filter(([a, b]) => a !== b)).toEqual([]);
    return { manifest };
  }

  it(
    'validate --suggest prints the binding: one input per column for the per-column layout, ' +
      'a ZipMap class by label',
    async () => {
      const r = await runCli(['validate', '--suggest', path.join(FIXTURES, 'sk_onehot_zipmap.onnx')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(
        [
          `# spec.model binding suggested for file://${path.join(FIXTURES, 'sk_onehot_zipmap.onnx')}`,
          'inputs:',
          ...ONEHOT.map((c) => `  - {name: ${c}, columns: [${c}]}`),
          'outputs:',
          '  - {name: output_label, column: predicted_label}',
          '  - {name: output_probability, label: 1, column: probability_1}',
          '',
        ].join('\n'),
      );
      const stacked = await runCli(['validate', '--suggest', path.join(FIXTURES, 'xgb.onnx')]);
      expect(stacked.stdout.split('\n').slice(1, 3)).toEqual([
        '# input "features" takes 6 columns stacked as [rows, columns]: ' +
          'name them in the order the model was trained on',
        'inputs:',
      ]);
    },
  );

  it('the worked example in examples/ validates against its model and input', async () => {
    const r = await runCli(['validate', 'examples/churn-sklearn.yaml', '--date', DATE]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { spec: { model: { outputs: unknown[] } } }).spec.model.outputs).toEqual([
      { name: 'output_probability', label: 1, column: 'churn_probability' },
      { name: 'output_label', column: 'predicted_churn' },
    ]);
  });

  it(
    'a tensor(float16) input takes float columns converted as onnxruntime converts them ' +
      '(to nearest, ties to even)',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-real-f16-'));
      // The model casts its float16 input back to float32: each output is the float16 the tensor held.
      const rows: [number, number, number][] = [
        [1, 0.1, 0.0999755859375],
        [2, 65519, 65504],
        [3, 1 + 2 ** -11, 1],
        [4, 3 * 2 ** -25, 2 ** -23],
        [5, -2.5, -2.5],
      ];
      await writeFile(
        path.join(dir, 'in.csv'),
        ['id,a,b', ...rows.map(([id, v]) => `${id},${v},${-v}`)].join('\n') + '\n',
      );
      const job = path.join(dir, 'job.yaml');
      await writeFile(
        job,
        jobYaml({
          input: `${dir}/in.csv`,
          format: 'csv',
          model: path.join(FIXTURES, 'float16_cast.onnx'),
          output: `${dir}/out/`,
          passthrough: ['id'],
          inputs: '[{name: x, columns: [a, b]}]',
          outputs: '[{name: y, index: 0, column: ya}, {name: y, index: 1, column: yb}]',
        }),
      );
      const r = await runCli(['run', job, '--local', '--date', DATE]);
      expect(r.code, r.stderr).toBe(0);
      const out = new LocalStore(path.join(dir, 'out'));
      const { table } = await readOutputRows(out, await readManifest(out, DATE));
      const got = Array.from({ length: table.numRows }, (_, i) => [
        Number(table.getChild('id')!.get(i)),
        table.getChild('ya')!.get(i),
        table.getChild('yb')!.get(i),
      ]).sort((x, y) => x[0]! - y[0]!);
      expect(got).toEqual(rows.map(([id, , half]) => [id, half, -half]));
    },
  );

  it('a string label output (a classifier trained on string classes) is written as a string column', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bs-real-strlabel-'));
    const job = path.join(dir, 'job.yaml');
    await writeFile(
      job,
      jobYaml({
        input: path.join(FIXTURES, 'sk_string_labels.input.parquet'),
        model: path.join(FIXTURES, 'sk_string_labels.onnx'),
        output: `${dir}/out/`,
        passthrough: ['id'],
        inputs: '[{name: features, columns: [f0, f1]}]',
        outputs: '[{name: label, column: tier}, {name: probabilities, index: 1, column: p_gold}]',
      }),
    );
    const r = await runCli(['run', job, '--local', '--date', DATE]);
    expect(r.code, r.stderr).toBe(0);
    const out = new LocalStore(path.join(dir, 'out'));
    const manifest = await readManifest(out, DATE);
    expect(manifest.output.columns).toEqual([
      { name: 'id', type: 'Int64' },
      { name: 'tier', type: 'Utf8' },
      { name: 'p_gold', type: 'Float32' },
    ]);
    const { table } = await readOutputRows(out, manifest);
    const expected = await readTable(path.join(FIXTURES, 'sk_string_labels.expected.parquet'));
    const want = new Map(
      Array.from({ length: expected.numRows }, (_, i) => [
        Number(expected.getChild('id')!.get(i)),
        expected.getChild('label')!.get(i) as string,
      ]),
    );
    const got = Array.from(
      { length: table.numRows },
      (_, i) => [Number(table.getChild('id')!.get(i)), table.getChild('tier')!.get(i) as string] as const,
    );
    expect(got.length).toBe(want.size);
    expect(got.filter(([id, l]) => want.get(id) !== l)).toEqual([]);
    expect(new Set(got.map(([, l]) => l))).toEqual(new Set(['bronze', 'gold', 'silver']));
  });

  it(
    'refuses a class label the ZipMap does not have, naming the classes; and a label ' + 'on a plain tensor output',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-real-label-'));
      const job = path.join(dir, 'job.yaml');
      const model = path.join(FIXTURES, 'sk_gbc.onnx');
      const write = (outputs: string, name = 'sk_gbc.onnx') =>
        writeFile(
          job,
          jobYaml({
            input: path.join(FIXTURES, 'sk_gbc.input.parquet'),
            model: path.join(FIXTURES, name),
            output: `${dir}/out/`,
            passthrough: ['id'],
            inputs: '[{name: features, columns: [age, income, credit, loan]}]',
            outputs,
          }),
        );
      await write('[{name: output_probability, label: 7, column: p}]');
      let r = await runCli(['validate', job]);
      expect(r.code).toBe(65);
      expect(r.stderr).toContain(
        `${model}: spec.model.outputs[0].label: 7 is not one of the classes of output "output_probability" (0, 1)`,
      );
      await write('[{name: probabilities, label: 1, column: p}]', 'xgb.onnx');
      await writeFile(
        job,
        (await readFile(job, 'utf8')).replace(
          '[age, income, credit, loan]',
          '[age, income, credit, loan, tenure_months, monthly_charges]',
        ),
      );
      r = await runCli(['validate', job]);
      expect(r.code).toBe(65);
      expect(r.stderr).toContain(
        'spec.model.outputs[0].label: output "probabilities" is a tensor that no ZipMap node ' +
          'makes, so it lists no class labels; pick its element with index',
      );
    },
  );
});
