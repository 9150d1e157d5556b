import { describe, expect, it } from 'vitest';
import { EXACT_INTS_COLUMN, exactIntsOf } from './exactInts.js';
import { TEXT_ISSUE_COLUMN } from './findInvalidRows.js';
import { TextBatch } from './TextBatch.js';
import { textColumnOf } from './textColumnOf.js';

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

describe('TextBatch: found by the generative test', () => {
  it('"NaN" written in a field reads as NaN (quarantined as nan), not as a number no double holds', () => {
    const { values, issues } = read(['NaN', ' NaN ', '1']);
    expect(values.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(issues).toBeUndefined();
  });

  it('a numeric column also needed as text keeps its text as written beside its numbers', () => {
    const b = new TextBatch(['a', 'b'], ['a', 'b'], 3, ['a']);
    for (const [a, b2] of [
      ['007', '1'],
      [' 1e3 ', '2'],
      ['', '3'],
    ]) {
      b.setText('a', a);
      b.setText('b', b2);
      b.n++;
    }
    const t = b.take();
    expect([...(t.getChild('a')!.toArray() as Float64Array)].slice(0, 2)).toEqual([7, 1000]);
    expect(t.getChild(textColumnOf('a'))!.toArray()).toEqual(['007', ' 1e3 ', '']);
    expect(t.getChild(textColumnOf('b'))).toBeNull();
  });

  it('a JSON value kept as text: a string as is, a number as its token reads, anything else as JSON', () => {
    const b = new TextBatch(['a'], ['a'], 4, ['a']);
    for (const line of ['{"a": "12"}', '{"a": 12345678901234567890}', '{"a": 1e16}', '{"a": true}']) {
      b.setJson('a', (JSON.parse(line) as { a: unknown }).a, line);
      b.n++;
    }
    expect(b.take().getChild(textColumnOf('a'))!.toArray()).toEqual(['12', '12345678901234567890', '1e+16', 'true']);
  });
});
