import {
  checkColumns,
  MANIFEST_INPUT_FILES_MAX,
  parseJobSpec,
  type ShardCommit,
  type ShardPlan,
} from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { outputColumns, toManifest } from './toManifest.js';

const job = parseJobSpec(
  `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: j1}
spec:
  input: {uri: "s3://bkt/in/"}
  model: {uri: "s3://bkt/m.onnx", version: v1, inputs: [{name: x, columns: [a]}], outputs: [{name: y, column: score}]}
  output: {uri: "s3://bkt/out/", passthrough: [id]}
`,
  { baseDir: '/' },
);

function plan(files: number): ShardPlan {
  return {
    apiVersion: 'batchscore.dev/v1alpha1',
    kind: 'ShardPlan',
    runId: 'j1-2024-01-01-v1-abc',
    planId: 'p',
    batchDate: '2024-01-01',
    job,
    inputUri: 's3://bkt/in/',
    format: 'parquet',
    model: { uri: 's3://bkt/m.onnx', version: 'v1', sha256: 'a'.repeat(64), bytes: 10 },
    files: Array.from({ length: files }, (_, i) => ({
      key: `f${i}.parquet`,
      size: 100 + i,
      partitionValues: {},
      rowGroups: [3, 4],
    })),
    columnTypes: {},
    totalRows: 7 * files,
    shards: [{ index: 0, pieces: [], rows: 7 * files }],
    createdAt: '2024-01-02T00:00:10.000Z',
  };
}

function commit(shard: number, columns?: ShardCommit['columns']): ShardCommit {
  return {
    runId: 'j1-2024-01-01-v1-abc',
    planId: 'p',
    shard,
    attempt: 1,
    rowsIn: 0,
    rowsOut: 0,
    rowsQuarantined: 0,
    files: [],
    ...(columns ? { columns } : {}),
    quarantineFiles: [],
    invalidCounts: {},
    executionProvider: 'cpu',
    startedAt: '2024-01-02T00:00:00.000Z',
    finishedAt: '2024-01-02T00:00:04.000Z',
    durationS: 4,
  };
}

const quality = { predictions: {}, features: {}, drift: { status: 'no_baseline' as const, threshold: 0.2, psi: {} } };

describe('toManifest (manifest v1)', () => {
  it(
    `lists the input files up to ${MANIFEST_INPUT_FILES_MAX}, with rows from the footers; ` +
      `past that only counts, and the plan lists them`,
    () => {
      const small = toManifest(plan(2), [commit(0)], {
        finishedAt: new Date('2024-01-02T00:00:20.000Z'),
        version: 't',
        quality,
      });
      expect(small.input).toEqual({
        uri: 's3://bkt/in/',
        format: 'parquet',
        file_count: 2,
        bytes: 201,
        files: [
          { uri: 's3://bkt/in/f0.parquet', rows: 7, bytes: 100 },
          { uri: 's3://bkt/in/f1.parquet', rows: 7, bytes: 101 },
        ],
      });
      const big = toManifest(plan(MANIFEST_INPUT_FILES_MAX + 1), [commit(0)], {
        finishedAt: new Date('2024-01-02T00:00:20.000Z'),
        version: 't',
        quality,
      });
      expect(big.input).toEqual({
        uri: 's3://bkt/in/',
        format: 'parquet',
        file_count: 1001,
        bytes: 1001 * 100 + (1000 * 1001) / 2,
      });
      expect(big.bookkeeping).toEqual({
        uri: 's3://bkt/out/_batchscore/2024-01-01/v1/',
        plan: 's3://bkt/out/_batchscore/2024-01-01/v1/plan.json',
      });
    },
  );

  it('names the image, Node and onnxruntime of each shard where its commit records them (older commits do not)', () => {
    const built = {
      ...commit(1),
      image: 'ghcr.io/batchscore/batchscore-worker:0.1.0-cpu',
      nodeVersion: 'v22.23.5',
      onnxruntimeVersion: '1.30.0',
    };
    const local = { ...commit(2), nodeVersion: 'v20.20.2', onnxruntimeVersion: '1.30.0' };
    const m = toManifest(plan(3), [built, commit(0), local], {
      finishedAt: new Date('2024-01-02T00:00:12.500Z'),
      version: 't',
      quality,
    });
    const runtime = m.shards.map((x) => [x.index, x.image, x.node_version, x.onnxruntime_version]);
    expect(runtime).toEqual([
      [0, undefined, undefined, undefined],
      [1, 'ghcr.io/batchscore/batchscore-worker:0.1.0-cpu', 'v22.23.5', '1.30.0'],
      [2, undefined, 'v20.20.2', '1.30.0'],
    ]);
    expect(Object.keys(m.shards[0]!)).not.toContain('image');
    expect(Object.keys(m.shards[2]!)).not.toContain('image');
  });

  it('times a resumed run by its last attempt and its summed scoring, not plan-to-manifest alone', () => {
    // The shard was scored 10 s before this attempt planned (an earlier attempt): resumed.
    const m = toManifest(plan(1), [commit(0)], {
      finishedAt: new Date('2024-01-02T00:00:12.500Z'),
      version: 't',
      quality,
    });
    expect(m).toMatchObject({
      started_at: '2024-01-02T00:00:00.000Z',
      duration_s: 2.5,
      resumed: true,
      scoring_seconds: 4,
      throughput_rows_per_s: 0,
    });
  });

  it(
    'output columns: the types the workers wrote, or the job names with unknown types ' + 'when no part was written',
    () => {
      expect(
        outputColumns(plan(1), [
          commit(0),
          commit(1, [
            { name: 'id', type: 'Int64' },
            { name: 'score', type: 'Float32' },
          ]),
        ]),
      ).toEqual([
        { name: 'id', type: 'Int64' },
        { name: 'score', type: 'Float32' },
      ]);
      expect(outputColumns(plan(1), [commit(0)])).toEqual([
        { name: 'id', type: null },
        { name: 'score', type: null },
      ]);
    },
  );

  it('refuses shards that wrote different column types (one table would read as two)', () => {
    const a = commit(0, [{ name: 'id', type: 'Int64' }]);
    const b = commit(3, [{ name: 'id', type: 'Utf8' }]);
    expect(() => checkColumns([a, commit(1), b], 's3://bkt/out/run/')).toThrow(
      's3://bkt/out/run/: shard 3 wrote columns (id Utf8) where shard 0 wrote (id Int64); ' +
        'every input file must give the columns the same types',
    );
    expect(() => checkColumns([a, commit(1, [{ name: 'id', type: 'Int64' }])], 'x')).not.toThrow();
  });
});
