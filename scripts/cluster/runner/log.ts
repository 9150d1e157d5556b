// The pod runner's log lines (stdout, which cluster.mjs sends to <state>/logs/pod-runner.log) and small helpers.

/** Now as metav1.Time writes it: second precision. */
export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Pure: `s` quoted for sh. */
export const shq = (s: string) => `'${String(s).replace(/'/g, `'\\''`)}'`;

export function log(msg: string, fields: Record<string, unknown> = {}): void {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  process.stdout.write(`${new Date().toISOString()} ${msg}${extra ? ' ' + extra : ''}\n`);
}
