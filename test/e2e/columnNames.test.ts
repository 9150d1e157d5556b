import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { renderWorkflow } from '@batchscore/coordinator';
import { LocalStore, parseJobSpec, runDir, toParquetBytes, toYaml } from '@batchscore/core';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FIXTURE_MODELS, runCli } from '../support/cli.js';
import { readManifest, readOutputRows } from '../support/output.js';

/**
 * Any column name Parquet and CSV allow, wherever names go: the job spec, model inputs and outputs, passthrough,
 * partition folders, validation ranges and quarantine reasons, the output's schema, and the rendered Workflow.
 */
const DATE = '2024-06-01';
const FEATURE = 'Annual Income, usd';
const ODD = ['say "hi"', 'two\nlines', 'naïve €/日本', '9lives', 'a=b/c', ' '];
const OUT = 'p(default) = 50%';
const q = (s: string) => JSON.stringify(s);

const jobText = (format: string) => `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: names}
spec:
  input: {uri: in/, format: ${format}}
  model:
    uri: "${path.join(FIXTURE_MODELS, 'echo_float64.onnx')}"
    version: v3
    inputs: [{name: x, columns: [${q(FEATURE)}]}]
    outputs: [{name: y, index: 0, column: ${q(OUT)}}]
  output: {uri: out/, passthrough: [${[FEATURE, ...ODD].map(q).join(', ')}], partitionBy: [${q('a=b/c')}]}
  validation: {ranges: {${q(FEATURE)}: {min: 0}}, maxInvalidFraction: 0.5}
`;

describe('any column name', () => {
  it.each(['parquet', 'jsonl'])(
    'from %s: bound, passed through, partitioned by, ranged and quarantined by name',
    async (format) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'bs-names-'));
      const store = new LocalStore(dir);
      const income = [10, -1, 20, 30];
      const rows = income.map((v, i) => ({
        [FEATURE]: v,
        ...Object.fromEntries(ODD.map((c) => [c, `${c}#${i % 2}`])),
      }));
      if (format === 'parquet') {
        const t = new arrow.Table({
          [FEATURE]: arrow.makeVector(Float64Array.from(income)),
          ...Object.fromEntries(ODD.map((c) => [c, arrow.vectorFromArray(rows.map((r) => r[c] as string))])),
        });
        await store.put('in/a.parquet', toParquetBytes(t));
      } else {
        await store.put('in/a.jsonl', new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
      }
      await writeFile(path.join(dir, 'job.yaml'), jobText(format));
      const r = await runCli(['run', 'job.yaml', '--local', '--date', DATE, '--workers', '1'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const out = new LocalStore(path.join(dir, 'out'));
      const m = await readManifest(out, DATE);
      expect(m.record_count).toBe(3);
      expect(m.quarantine!.by_reason).toEqual({ [`${FEATURE}: below_min`]: 1 });
      // The partition folders escape the name as Hive does; the data files hold every other column, named as given.
      const folders = await readdir(path.join(dir, 'out', runDir({ batchDate: DATE, modelVersion: 'v3' })));
      expect(folders.filter((f) => f.startsWith('a')).sort()).toEqual([
        'a%3Db%2Fc=a%3Db%2Fc%230',
        'a%3Db%2Fc=a%3Db%2Fc%231',
      ]);
      expect(m.output.columns.map((c) => c.name)).toEqual([FEATURE, ...ODD.filter((c) => c !== 'a=b/c'), OUT]);
      const { table } = await readOutputRows(out, m);
      const got = [...table].map((row) => row.toJSON()).sort((a, b) => (a[OUT] as number) - (b[OUT] as number));
      expect(got.map((g) => g[OUT])).toEqual([10, 20, 30]);
      expect(got.map((g) => g['two\nlines'])).toEqual(['two\nlines#0', 'two\nlines#0', 'two\nlines#1']);
      expect(got.map((g) => g[' '])).toEqual([' #0', ' #0', ' #1']);
    },
  );

  it('survives rendering: the Workflow YAML carries the job with every name as written', () => {
    const job = parseJobSpec(
      jobText('parquet')
        .replace('uri: in/', 'uri: "s3://bucket/in/"')
        .replace('uri: out/', 'uri: "s3://bucket/out/"')
        .replace(/uri: "\/[^"]*echo_float64.onnx"/, 'uri: "s3://bucket/m.onnx"'),
      {
        baseDir: '/',
      },
    );
    const yaml = toYaml([renderWorkflow(job, DATE)]);
    const [doc] = parseAllDocuments(yaml);
    const wf = doc!.toJSON() as { spec: { arguments: { parameters: { name: string; value: string }[] } } };
    const param = wf.spec.arguments.parameters.find((p) => p.name === 'job')!;
    const back = JSON.parse(param.value) as {
      spec: { output: { passthrough: string[] }; model: { outputs: { column: string }[] } };
    };
    expect(back.spec.output.passthrough).toEqual([FEATURE, ...ODD]);
    expect(back.spec.model.outputs[0]!.column).toBe(OUT);
  });
});
