import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { keepFieldMetadata } from './keepFieldMetadata.js';

const meta = (t: arrow.Table) => t.schema.fields.map((f) => [f.name, Object.fromEntries(f.metadata)]);

describe('keepFieldMetadata', () => {
  const from = new arrow.Schema([
    new arrow.Field('grade', new arrow.Utf8(), true, new Map([['_PL_ENUM_VALUES2', '1;a1;b']])),
    new arrow.Field('income', new arrow.Float64(), true, new Map([['unit', 'EUR']])),
    new arrow.Field('id', new arrow.Int64()),
  ]);
  const built = () =>
    new arrow.Table({
      id: arrow.makeVector(BigInt64Array.of(1n, 2n)),
      grade: arrow.vectorFromArray(['a', 'b'], new arrow.Utf8()),
      // A model output named like an input column that is not passed through.
      income: arrow.makeVector(Float32Array.of(0.25, 0.5)),
    });

  it("gives the named columns their source field's metadata, and no other column", () => {
    const t = keepFieldMetadata(built(), from, ['id', 'grade']);
    expect(meta(t)).toEqual([
      ['id', {}],
      ['grade', { _PL_ENUM_VALUES2: '1;a1;b' }],
      ['income', {}],
    ]);
    expect(t.toArray().map((r) => r.toJSON())).toEqual(
      built()
        .toArray()
        .map((r) => r.toJSON()),
    );
  });

  it('returns the table itself when no named column has metadata', () => {
    const t = built();
    expect(keepFieldMetadata(t, from, ['id'])).toBe(t);
  });
});
