import * as arrow from 'apache-arrow';

/**
 * A decimal column from unscaled integers (45.13 at scale 2 is 4513n), written word by word in two's complement:
 * apache-arrow's vectorFromArray cannot build decimals.
 */
export function decimalVector(
  unscaled: bigint[],
  precision: number,
  scale: number,
  bitWidth: 128 | 256 = 128,
): arrow.Vector {
  const words = bitWidth / 32;
  const data = new Uint32Array(unscaled.length * words);
  unscaled.forEach((v, i) => {
    let u = BigInt.asUintN(bitWidth, v);
    for (let w = 0; w < words; w++) {
      data[i * words + w] = Number(u & 0xffffffffn);
      u >>= 32n;
    }
  });
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Decimal(scale, precision, bitWidth),
      length: unscaled.length,
      nullCount: 0,
      data,
    }),
  );
}

/** A dictionary<int32, float64> column: `indices` into `values`. */
export function float64Dictionary(values: number[], indices: number[]): arrow.Vector {
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Dictionary(new arrow.Float64(), new arrow.Int32()),
      length: indices.length,
      nullCount: 0,
      data: Int32Array.from(indices),
      dictionary: arrow.makeVector(Float64Array.from(values)),
    }),
  );
}
