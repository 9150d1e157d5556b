import * as arrow from 'apache-arrow';

/**
 * The seed scoring example's credit table (customer_id, age, income, credit, loan), drawn from the same
 * distributions as ../shared/bench/fixtures.py, from a seeded generator: the same n gives the same rows.
 */
export function makeCustomers(n: number, firstId = 0, seed = 42): arrow.Table {
  const rnd = xorshift128(seed + firstId);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const exp = () => -Math.log(1 - rnd());
  const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const id = new BigInt64Array(n);
  const age = new Float64Array(n);
  const income = new Float64Array(n);
  const credit = new Float64Array(n);
  const loan = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    id[i] = BigInt(firstId + i);
    age[i] = Math.round(clip(38 + 12 * normal(), 18, 75));
    income[i] = Math.round(clip(55000 * exp(), 15000, 200000));
    credit[i] = Math.round(clip(680 + 80 * normal(), 300, 850));
    loan[i] = Math.round(clip(18000 * exp(), 1000, 80000));
  }
  return new arrow.Table({
    customer_id: arrow.makeVector(id),
    age: arrow.makeVector(age),
    income: arrow.makeVector(income),
    credit: arrow.makeVector(credit),
    loan: arrow.makeVector(loan),
  });
}

function xorshift128(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed,
    b = 0x243f6a88,
    c = 0xb7e15162,
    d = 0xdeadbeef ^ (seed * 2654435761);
  for (let i = 0; i < 16; i++) next();
  function next(): number {
    const t = b << 11;
    let r = a ^ (a << 11);
    r = r ^ (r >>> 8);
    a = b;
    b = c;
    c = d;
    d = d ^ (d >>> 19) ^ (r ^ t ^ (t >>> 8));
    return (d >>> 0) / 4294967296;
  }
  return next;
}
