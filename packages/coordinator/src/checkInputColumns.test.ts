import * as arrow from 'apache-arrow';
import { parseJobSpec, type InputFile, type ScoringJob } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { checkInputColumns } from './checkInputColumns.js';

function job(passthrough: string): ScoringJob {
  return parseJobSpec(
    `
apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: test-job}
spec:
  input: {uri: "/data/"}
  model: {uri: "/m.onnx", version: v1, inputs: [{name: x, columns: [age, income]}], outputs: [{name: y, column: p}]}
  output: {uri: "/out/", passthrough: ${passthrough}}
`,
    { baseDir: '/', source: 'test.yaml' },
  );
}
const file = (key: string, partitionValues: Record<string, string | null> = {}): InputFile => ({
  key,
  size: 1,
  partitionValues,
});
const field = (name: string, type: arrow.DataType) => new arrow.Field(name, type);
const GOOD = [field('id', new arrow.Int64()), field('age', new arrow.Float64()), field('income', new arrow.Float64())];

describe('checkInputColumns', () => {
  it('finds every problem of every file, in file order, and the types of the columns it could check', () => {
    const files = [
      { uri: 'file:///data/a.parquet', file: file('a.parquet'), columns: { fields: GOOD } },
      {
        uri: 'file:///data/b.parquet',
        file: file('b.parquet'),
        columns: { fields: [field('age', new arrow.Utf8()), field('income', new arrow.Int32())] },
      },
      { uri: 'file:///data/c.parquet', file: file('c.parquet') }, // not read: judged by its name only
    ];
    expect(checkInputColumns(job('[id, segment]'), 'parquet', files)).toEqual({
      columnTypes: { id: 'Int64', age: 'Float64', income: 'Float64' },
      problems: [
        'file:///data/a.parquet: column "segment" not found (the file has id, age, income)',
        'file:///data/b.parquet: column "age" is Utf8, but earlier input files have Float64; ' +
          'all files must share a schema',
        'file:///data/b.parquet: column "income" is Int32, but earlier input files have Float64; ' +
          'all files must share a schema',
        'file:///data/b.parquet: column "id" not found (the file has age, income)',
        'file:///data/b.parquet: column "segment" not found (the file has age, income)',
      ],
    });
  });

  it('takes hive folders from every file listed, read or not, and checks CSV headers by name', () => {
    const files = [
      { uri: 'file:///data/d=1/a.csv', file: file('d=1/a.csv', { d: '1' }), columns: { header: ['id', 'age'] } },
      { uri: 'file:///data/b.csv', file: file('b.csv') },
    ];
    expect(checkInputColumns(job('[id, d]'), 'csv', files)).toEqual({
      columnTypes: { d: 'Utf8', id: 'Utf8', age: 'Float64', income: 'Float64' },
      problems: [
        'file:///data/b.csv: column "d" is a hive partition folder for some files but not this one',
        'file:///data/d=1/a.csv: column "income" not found in the CSV header (id, age)',
      ],
    });
  });

  it('records a dictionary column as a dictionary when every file has one, else as its values', () => {
    const dict = () => new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32());
    const fileWith = (key: string, segment: arrow.DataType) => ({
      uri: `file:///data/${key}`,
      file: file(key),
      columns: { fields: [...GOOD, field('segment', segment)] },
    });
    const both = [fileWith('a.parquet', dict()), fileWith('b.parquet', dict())];
    expect(checkInputColumns(job('[segment]'), 'parquet', both).columnTypes.segment).toBe('Dictionary<Int32, Utf8>');
    const mixed = [fileWith('a.parquet', dict()), fileWith('b.parquet', new arrow.Utf8())];
    expect(checkInputColumns(job('[segment]'), 'parquet', mixed)).toEqual({
      columnTypes: { segment: 'Utf8', age: 'Float64', income: 'Float64' },
      problems: [],
    });
    const other = [fileWith('a.parquet', dict()), fileWith('b.parquet', new arrow.Int32())];
    expect(checkInputColumns(job('[segment]'), 'parquet', other).problems).toEqual([
      'file:///data/b.parquet: column "segment" is Int32, but earlier input files have Utf8; all files must share a ' +
        'schema',
    ]);
  });
});
