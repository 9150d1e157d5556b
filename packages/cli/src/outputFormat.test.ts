import { describe, expect, it } from 'vitest';
import { formatOutput, outputFormat, printOutput } from './outputFormat.js';
import { formatObjects, objectName } from './printObjects.js';

describe('outputFormat', () => {
  it('is undefined without the flag (each command has its default), else the format named', () => {
    expect(outputFormat(undefined, ['json', 'yaml'])).toBeUndefined();
    expect(outputFormat('json', ['json', 'yaml'])).toBe('json');
    expect(outputFormat('yaml', ['json', 'yaml'])).toBe('yaml');
    expect(outputFormat('name', ['yaml', 'json', 'name'])).toBe('name');
  });

  it('rejects anything else as a usage error naming the flag, the value and the rule', () => {
    for (const v of ['xml', 'JSON', 'yml', '', 'text', 'name']) {
      expect(() => outputFormat(v, ['json', 'yaml'])).toThrow(
        expect.objectContaining({ code: 'USAGE', message: `-o/--output ${JSON.stringify(v)}: expected json or yaml` }),
      );
    }
    expect(() => outputFormat('wide', ['yaml', 'json', 'name'])).toThrow(
      expect.objectContaining({ message: '-o/--output "wide": expected yaml, json or name' }),
    );
  });
});

describe('printObjects -o name', () => {
  it('prints kind.group/name a line, as kubectl create -o name does; the core group has none', () => {
    const docs = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'batchscore-job-x' } },
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'WorkflowTemplate', metadata: { name: 'batchscore-x' } },
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { generateName: 'x-2024-01-15-' } },
    ];
    expect(formatObjects(docs, 'name')).toBe(
      'configmap/batchscore-job-x\nworkflowtemplate.argoproj.io/batchscore-x\nworkflow.argoproj.io/x-2024-01-15-\n',
    );
    expect(objectName({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' } })).toBe(
      'role.rbac.authorization.k8s.io/r',
    );
  });

  it('leaves out the managedFields an API server returns, as kubectl does, and nothing else', () => {
    const returned = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w', uid: 'u', managedFields: [{ manager: 'batchscore' }] },
      spec: { entrypoint: 'main' },
    };
    const printed = { ...returned, metadata: { name: 'w', uid: 'u' } };
    expect(JSON.parse(formatObjects([returned], 'json'))).toEqual(printed);
    expect(formatObjects([returned], 'yaml')).toBe(
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\n  uid: u\nspec:\n  entrypoint: main\n',
    );
    expect(returned.metadata.managedFields).toEqual([{ manager: 'batchscore' }]);
  });
});

describe('formatOutput', () => {
  const plan = {
    plan: 'file:///out/_batchscore/runs/2024-01-15/plan.json',
    shards: 3,
    rows: 1200,
    runId: '2024-01-15-0001',
  };

  it('json: one line', () => {
    expect(formatOutput(plan, 'json')).toBe(
      '{"plan":"file:///out/_batchscore/runs/2024-01-15/plan.json","shards":3,"rows":1200,"runId":"2024-01-15-0001"}\n',
    );
  });

  it('yaml: one document, YAML 1.1 quoting (a date-like or yes/no string stays a string), no folding', () => {
    expect(formatOutput(plan, 'yaml')).toBe(
      'plan: file:///out/_batchscore/runs/2024-01-15/plan.json\nshards: 3\nrows: 1200\nrunId: 2024-01-15-0001\n',
    );
    expect(formatOutput({ date: '2024-01-15', ok: 'yes', mode: '0755' }, 'yaml')).toBe(
      'date: "2024-01-15"\nok: "yes"\nmode: "0755"\n',
    );
    const long = 'x'.repeat(200);
    expect(formatOutput({ long }, 'yaml')).toBe(`long: ${long}\n`);
  });

  it('printOutput writes the formatted text', () => {
    let written = '';
    printOutput({ a: 1 }, 'yaml', { write: (s: string) => (written += s) });
    expect(written).toBe('a: 1\n');
  });
});
