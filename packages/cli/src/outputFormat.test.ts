import { describe, expect, it } from 'vitest';
import { formatOutput, outputFormat, printOutput } from './outputFormat.js';

describe('outputFormat', () => {
  it('is json without the flag, and json or yaml as named', () => {
    expect(outputFormat(undefined)).toBe('json');
    expect(outputFormat('json')).toBe('json');
    expect(outputFormat('yaml')).toBe('yaml');
  });

  it('rejects anything else as a usage error naming the flag, the value and the rule', () => {
    for (const v of ['xml', 'JSON', 'yml', '']) {
      expect(() => outputFormat(v)).toThrow(
        expect.objectContaining({ code: 'USAGE', message: `-o/--output ${JSON.stringify(v)}: expected json or yaml` }),
      );
    }
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
