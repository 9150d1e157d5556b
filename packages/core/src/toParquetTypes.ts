import * as arrow from 'apache-arrow';

/**
 * Pure: a table with the Arrow types that Parquet has no annotation for turned into the ones pyarrow stores them
 * as, so that every reader (DuckDB, polars, Spark) sees a date and a timestamp, not a bare int64: the Parquet
 * writer (parquet-wasm) would write date64, timestamp[s] and time32[s] as plain integers. date64 becomes date32
 * (whole days, as Arrow defines date64), timestamp[s] timestamp[ms] (time zone kept) and time32[s] time32[ms]:
 * the same instants, to the digit. Nested columns (lists, structs, maps) are turned inside too. A table with none of
 * these types is returned as it is.
 */
export function toParquetTypes(table: arrow.Table): arrow.Table {
  if (!table.schema.fields.some((f) => needsCast(f.type))) return table;
  const fields = table.schema.fields.map((f) => f.clone({ type: castType(f.type) }));
  const schema = new arrow.Schema(fields, table.schema.metadata);
  const batches = table.batches.map(
    (b) =>
      new arrow.RecordBatch(
        schema,
        arrow.makeData({
          type: new arrow.Struct(fields),
          length: b.numRows,
          nullCount: 0,
          children: b.data.children.map(castData),
        }),
      ),
  );
  return new arrow.Table(schema, batches);
}

function needsCast(t: arrow.DataType): boolean {
  if (arrow.DataType.isDate(t)) return t.unit === arrow.DateUnit.MILLISECOND;
  if (arrow.DataType.isTimestamp(t) || arrow.DataType.isTime(t)) return t.unit === arrow.TimeUnit.SECOND;
  return (t.children ?? []).some((c: arrow.Field) => needsCast(c.type));
}

function castType(t: arrow.DataType): arrow.DataType {
  if (!needsCast(t)) return t;
  if (arrow.DataType.isDate(t)) return new arrow.DateDay();
  if (arrow.DataType.isTimestamp(t)) return new arrow.Timestamp(arrow.TimeUnit.MILLISECOND, t.timezone);
  if (arrow.DataType.isTime(t)) return new arrow.TimeMillisecond();
  const children = (t.children as arrow.Field[]).map((c) => c.clone({ type: castType(c.type) }));
  if (arrow.DataType.isList(t)) return new arrow.List(children[0]!);
  if (arrow.DataType.isLargeList(t)) return new arrow.LargeList(children[0]!);
  if (arrow.DataType.isFixedSizeList(t)) return new arrow.FixedSizeList(t.listSize, children[0]!);
  if (arrow.DataType.isMap(t)) return new arrow.Map_(children[0]! as arrow.Field<arrow.Struct>, t.keysSorted);
  if (arrow.DataType.isStruct(t)) return new arrow.Struct(children);
  return t;
}

function castData(d: arrow.Data): arrow.Data {
  const t = d.type;
  if (!needsCast(t)) return d;
  const to = castType(t);
  const values = d.values as unknown as ArrayLike<number | bigint>;
  const scaled = (
    make: (v: number | bigint) => number | bigint,
    Out: new (n: number) => Int32Array | BigInt64Array,
  ) => {
    const out = new Out(d.length);
    for (let i = 0; i < d.length; i++) (out as unknown as (number | bigint)[])[i] = make(values[i]!);
    return d.clone(to, d.offset, d.length, d.nullCount, [undefined, out, d.nullBitmap] as never);
  };
  if (arrow.DataType.isDate(t)) {
    // Arrow's date64 is whole days in milliseconds; a value past midnight is floored to its day, as pyarrow does.
    const DAY = 86_400_000n;
    return scaled((v) => {
      const ms = BigInt(v);
      return Number((ms - (((ms % DAY) + DAY) % DAY)) / DAY);
    }, Int32Array);
  }
  if (arrow.DataType.isTimestamp(t)) return scaled((v) => BigInt(v) * 1000n, BigInt64Array);
  if (arrow.DataType.isTime(t)) return scaled((v) => Number(v) * 1000, Int32Array);
  return d.clone(to, d.offset, d.length, d.nullCount, d as never, d.children.map(castData));
}
