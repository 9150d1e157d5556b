import { describe, expect, it } from 'vitest';
import { EXACT_INTS_COLUMN, exactIntsOf } from './exactInts.js';
import { TEXT_ISSUE_COLUMN } from './findInvalidRows.js';
import { TextBatch } from './TextBatch.js';

/** One row per value of column `a`, read from CSV text or from a JSON line. */
function read(values: string[], json = false) {
  const b = new TextBatch(['a'], ['a'], values.length);
  for (const v of values) {
    if (json) b.setJson('a', JSON.parse(`{"a": ${v}}`).a, `{"a": ${v}}`);
    else b.setText('a', v);
    b.n++;
  }
  const t = b.take();
  return {
    values: Array.from(t.getChild('a')!.toArray() as Float64Array),
    exact: exactIntsOf(t).get('a'),
    issues: t.getChild(TEXT_ISSUE_COLUMN)?.toArray() as (string | null)[] | undefined,
    hasExact: t.getChild(EXACT_INTS_COLUMN) !== null,
  };
}

describe('TextBatch reads numbers as written', () => {
  it.each([false, true])('json %s: -0 is the integer 0, -0.0 the float -0.0', (json) => {
    const { values } = read(['-0', '-0.0', '0'], json);
    expect(values.map((v) => Object.is(v, -0))).toEqual([false, true, false]);
  });

  it.each([false, true])('json %s: integers past 2^53 are kept exactly beside their double', (json) => {
    const { values, exact } = read(['9007199254740993', '18446744073709551615', '-9223372036854775808', '12'], json);
    expect(values).toEqual([2 ** 53, 2 ** 64, -(2 ** 63), 12]);
    expect(exact).toEqual(
      new Map([
        [0, 9007199254740993n],
        [1, 18446744073709551615n],
        [2, -9223372036854775808n],
      ]),
    );
  });

  it('a finite number no double holds is quarantined with its text, not read as infinity', () => {
    const { values, issues } = read(['1e400', '-' + '9'.repeat(400), 'Infinity']);
    expect(values.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(values[2]).toBe(Infinity);
    expect(issues!.slice(0, 2).map((i) => (JSON.parse(i!) as string[][])[0]!.slice(1))).toEqual([
      ['unrepresentable', 'a "1e400" is not representable as float64'],
      ['unrepresentable', `a "-${'9'.repeat(78)} is not representable as float64`],
    ]);
    expect(issues![2]).toBeNull();
  });

  it('booleans read as 1 and 0; a batch with no large integer carries no exact column', () => {
    const r = read(['true', 'FALSE', ' 4.5e1 ']);
    expect(r.values).toEqual([1, 0, 45]);
    expect(r.hasExact).toBe(false);
  });
});
