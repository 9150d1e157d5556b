/**
 * Pure: an integer rounded once to the nearest float32, ties to even, as numpy's astype(float32) and onnxruntime's
 * Cast round an int64 or uint64. Math.fround(Number(v)) would round twice past 2^53 (to a double first), and so
 * differ where the double lands on a float32 tie: 2^60 + 2^36 + 1 is nearer 2^60 + 2^37, but its double is the tie
 * 2^60 + 2^36, which goes to even (2^60).
 */
export function bigintToFloat32(v: bigint): number {
  const neg = v < 0n;
  const a = neg ? -v : v;
  if (a <= 2n ** 53n) return Math.fround(Number(v));
  const shift = BigInt(a.toString(2).length - 24);
  let q = a >> shift;
  const rem = a - (q << shift);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  // q ≤ 2^24 and the power of two are exact doubles, so is their product; past float32's range it is infinite.
  const r = Math.fround(Number(q) * 2 ** Number(shift));
  return neg ? -r : r;
}
