import * as arrow from 'apache-arrow';

/**
 * Pure: `t` with each named field's metadata taken from the field of the same name in `from`. Tables built from a
 * record of vectors (`new arrow.Table({...})`) have bare fields, and a passthrough column is published with its
 * field metadata as written: polars keeps an Enum's categories there (without them it reads the column back as a
 * Categorical), pyarrow an extension type's name, users their column descriptions. Returns `t` itself where there is
 * nothing to carry.
 */
export function keepFieldMetadata(t: arrow.Table, from: arrow.Schema, names: readonly string[]): arrow.Table {
  const source = new Map(from.fields.map((f) => [f.name, f.metadata]));
  const carry = (f: arrow.Field) => names.includes(f.name) && (source.get(f.name)?.size ?? 0) > 0;
  if (!t.schema.fields.some(carry)) return t;
  const schema = new arrow.Schema(
    t.schema.fields.map((f) => (carry(f) ? f.clone({ metadata: new Map(source.get(f.name)) }) : f)),
    t.schema.metadata,
  );
  return new arrow.Table(
    schema,
    t.batches.map((b) => new arrow.RecordBatch(schema, b.data)),
  );
}
