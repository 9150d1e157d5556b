/** Adds `from`'s counts into `into`, key by key, and returns `into`. */
export function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  return into;
}

/** The largest counts first, as "key n, key n": for one-line messages. */
export function describeCounts(counts: Record<string, number>, most = 5): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, most)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}
