/** Numbers as the CLI prints them: 12,345; 9.5s, 42s, 1m05s; 1.5 MiB. */
export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  // Rounded first, so that 119.6 s is 2m00s, not 1m60s.
  const t = Math.round(s);
  return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
}

export function fmtBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}
