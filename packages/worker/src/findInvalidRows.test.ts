import * as arrow from 'apache-arrow';
import { newFeatureStats } from '@batchscore/core';
import { describe, expect, it } from 'vitest';
import { decimalVector } from '../../../test/support/arrowTypes.js';
import { EXACT_INTS_COLUMN } from './exactInts.js';
import { findInvalidRows, splitInvalidRows, TEXT_ISSUE_COLUMN, textIssue } from './findInvalidRows.js';

const table = () =>
  new arrow.Table({
    id: arrow.vectorFromArray([0n, 1n, 2n, 3n, 4n, 5n, 6n], new arrow.Int64()),
    age: arrow.vectorFromArray([30, null, 40, 150, 25, 33, 44], new arrow.Int32()),
    income: arrow.makeVector(new Float64Array([1, 2, NaN, 4, Infinity, -1, 7])),
    name: arrow.vectorFromArray(['a', 'b', 'c', 'd', 'e', 'f', 'g']),
  });

describe('findInvalidRows', () => {
  it('flags nulls, NaN, infinities and values outside a range, each row once, with every reason', () => {
    const r = findInvalidRows(table(), ['age', 'income'], { age: { max: 120 }, income: { min: 0 } });
    expect(r.rows).toEqual([1, 2, 3, 4, 5]);
    expect(r.reasons).toEqual([
      'age is null',
      'income is NaN',
      'age 150 is above max 120',
      'income is Infinity',
      'income -1 is below min 0',
    ]);
    expect(r.counts).toEqual({
      'age: null': 1,
      'income: nan': 1,
      'age: above_max': 1,
      'income: infinite': 1,
      'income: below_min': 1,
    });
  });

  it('finds nothing in a clean batch, and ranges apply only to the columns named', () => {
    const r = findInvalidRows(table().slice(0, 1), ['age', 'income'], {});
    expect(r).toEqual({ rows: [], reasons: [], counts: {} });
    expect(findInvalidRows(table(), ['income'], { age: { min: 200 } }).rows).toEqual([2, 4]);
  });

  it(
    'gathers feature statistics in the same pass: bad rows included, nulls and non-finite ' + 'values counted apart',
    () => {
      const stats = { age: newFeatureStats(), income: newFeatureStats() };
      findInvalidRows(table(), ['age', 'income'], { age: { max: 120 } }, stats);
      // age: 30, null, 40, 150 (out of range, still a value), 25, 33, 44.
      expect(stats.age).toEqual({ count: 6, sum: 322, min: 25, max: 150, nulls: 1, nonFinite: 0 });
      // income: 1, 2, NaN, 4, Infinity, -1, 7.
      expect(stats.income).toEqual({ count: 5, sum: 13, min: -1, max: 7, nulls: 0, nonFinite: 2 });
    },
  );

  it('joins several problems of one row and counts the row by its first', () => {
    const t = new arrow.Table({
      a: arrow.makeVector(new Float32Array([NaN])),
      b: arrow.makeVector(new Float32Array([-Infinity])),
    });
    const r = findInvalidRows(t, ['a', 'b'], {});
    expect(r.reasons).toEqual(['a is NaN; b is -Infinity']);
    expect(r.counts).toEqual({ 'a: nan': 1 });
  });

  it("takes a text reader's reason (with the raw value) instead of a bare NaN", () => {
    const t = new arrow.Table({
      a: arrow.makeVector(new Float64Array([1, NaN])),
      [TEXT_ISSUE_COLUMN]: arrow.vectorFromArray(
        [null, textIssue('a', 'not_a_number', 'a "n/a" is not a number')],
        new arrow.Utf8(),
      ),
    });
    const r = findInvalidRows(t, ['a'], {});
    expect(r.reasons).toEqual(['a "n/a" is not a number']);
    expect(r.counts).toEqual({ 'a: not_a_number': 1 });
  });
});

describe('splitInvalidRows', () => {
  it('keeps valid rows in order with their types, and quarantines the rest with a reason column', () => {
    const t = table();
    const r = findInvalidRows(t, ['age', 'income'], { age: { max: 120 }, income: { min: 0 } });
    const { valid, quarantined } = splitInvalidRows(t, r);
    expect(valid.numRows + quarantined.numRows).toBe(t.numRows);
    expect([...valid.getChild('id')!].map(Number)).toEqual([0, 6]);
    expect(valid.schema.fields.map((f) => String(f.type))).toEqual(t.schema.fields.map((f) => String(f.type)));
    expect([...quarantined.getChild('id')!].map(Number)).toEqual([1, 2, 3, 4, 5]);
    expect([...quarantined.getChild('name')!]).toEqual(['b', 'c', 'd', 'e', 'f']);
    expect([...quarantined.getChild('reason')!]).toEqual(r.reasons);
  });

  it('drops the text issue column from both sides', () => {
    const t = new arrow.Table({
      a: arrow.makeVector(new Float64Array([NaN, 2])),
      [TEXT_ISSUE_COLUMN]: arrow.vectorFromArray([textIssue('a', 'null', 'a is empty'), null], new arrow.Utf8()),
    });
    const { valid, quarantined } = splitInvalidRows(t, findInvalidRows(t, ['a'], {}));
    expect(valid.schema.fields.map((f) => f.name)).toEqual(['a']);
    expect(quarantined.schema.fields.map((f) => f.name)).toEqual(['a', 'reason']);
    expect([...quarantined.getChild('reason')!]).toEqual(['a is empty']);
  });
});

describe('findInvalidRows on decimal columns', () => {
  it('compares scaled values with ranges and gathers scaled statistics', () => {
    const stats = { age: newFeatureStats() };
    // age 20.00, 45.13, 70.50 and 150.00 (above max 120)
    const t = new arrow.Table({ age: decimalVector([2000n, 4513n, 7050n, 15000n], 10, 2) });
    const r = findInvalidRows(t, ['age'], { age: { max: 120 } }, stats);
    expect(r.rows).toEqual([3]);
    expect(r.reasons).toEqual(['age 150 is above max 120']);
    expect(stats.age).toMatchObject({ count: 4, min: 20, max: 150, nulls: 0, nonFinite: 0 });
    expect(stats.age.sum).toBeCloseTo(285.63, 10);
  });
});

describe('findInvalidRows against the dtypes of the model inputs a column feeds', () => {
  it('quarantines values the dtype cannot represent, naming the column, the value, the dtype and the input', () => {
    const t = new arrow.Table({
      income: arrow.makeVector(new Float64Array([1, 1e39, -3.5e38, 3.4028234663852886e38, 0.5])),
      n: arrow.vectorFromArray([1n, 2n ** 63n - 1n, 3_000_000_000n, -(2n ** 31n), 0n], new arrow.Int64()),
      u: arrow.vectorFromArray([0n, 2n ** 64n - 1n, 2n ** 63n - 1n, 2n ** 63n, 1n], new arrow.Uint64()),
      h: arrow.makeVector(new Float32Array([65504, 0, 70000, 0, 65520])),
    });
    const r = findInvalidRows(t, ['income', 'n', 'u', 'h'], {}, undefined, [], {
      income: [{ dtype: 'float32', input: 'x' }],
      n: [{ dtype: 'int32', input: 'y' }],
      u: [{ dtype: 'int64', input: 'z' }],
      h: [{ dtype: 'float16', input: 'w' }],
    });
    expect(r.rows).toEqual([1, 2, 3, 4]);
    expect(r.reasons).toEqual([
      'income 1e+39 is not representable as float32 (model input "x"); n 9223372036854775807 is not ' +
        'representable as int32 (model input "y"); u 18446744073709551615 is not representable as int64 ' +
        '(model input "z")',
      'income -3.5e+38 is not representable as float32 (model input "x"); n 3000000000 is not representable ' +
        'as int32 (model input "y"); h 70000 is not representable as float16 (model input "w")',
      'u 9223372036854775808 is not representable as int64 (model input "z")',
      'h 65520 is not representable as float16 (model input "w")',
    ]);
    expect(r.counts).toEqual({ 'income: unrepresentable': 2, 'u: unrepresentable': 1, 'h: unrepresentable': 1 });
  });

  it("checks a text reader's exact integers, not their nearest doubles", () => {
    const t = new arrow.Table({
      a: arrow.makeVector(new Float64Array([2 ** 63, -(2 ** 63), 2 ** 63])),
      [EXACT_INTS_COLUMN]: arrow.vectorFromArray(
        [
          JSON.stringify([['a', String(2n ** 63n - 1n)]]),
          JSON.stringify([['a', String(-(2n ** 63n) - 1n)]]),
          JSON.stringify([['a', String(2n ** 63n)]]),
        ],
        new arrow.Utf8(),
      ),
    });
    const r = findInvalidRows(t, ['a'], {}, undefined, [], { a: [{ dtype: 'int64', input: 'x' }] });
    expect(r.rows).toEqual([1, 2]);
    expect(r.reasons).toEqual([
      'a -9223372036854775809 is not representable as int64 (model input "x")',
      'a 9223372036854775808 is not representable as int64 (model input "x")',
    ]);
  });

  it('truncates toward zero before the range check, as numpy casts a float to an integer', () => {
    const t = new arrow.Table({ a: arrow.makeVector(new Float64Array([127.9, -128.9, 128, -0.9, -1])) });
    const int8 = findInvalidRows(t, ['a'], {}, undefined, [], { a: [{ dtype: 'int8', input: 'x' }] });
    expect(int8.rows).toEqual([2]);
    const uint8 = findInvalidRows(t, ['a'], {}, undefined, [], { a: [{ dtype: 'uint8', input: 'x' }] });
    expect(uint8.rows).toEqual([1, 4]);
  });
});

describe('splitInvalidRows names the reason column apart from every input column', () => {
  it('reason, then batchscore_reason, then batchscore_reason_2', () => {
    const t = new arrow.Table({
      reason: arrow.vectorFromArray(['a']),
      batchscore_reason: arrow.vectorFromArray(['b']),
      x: arrow.makeVector(new Float64Array([NaN])),
    });
    const { quarantined } = splitInvalidRows(t, findInvalidRows(t, ['x'], {}));
    expect(quarantined.schema.fields.map((f) => f.name)).toEqual([
      'reason',
      'batchscore_reason',
      'x',
      'batchscore_reason_2',
    ]);
    expect([...quarantined.getChild('batchscore_reason_2')!]).toEqual(['x is NaN']);
    expect([...quarantined.getChild('reason')!]).toEqual(['a']);
  });
});
