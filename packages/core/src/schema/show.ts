/** A value as a problem message quotes it: JSON, cut at 60 characters; a missing value is "nothing". */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  // JSON has no NaN or infinity, but YAML does (.nan, .inf): say what the file said.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}
