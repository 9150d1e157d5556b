/** One-line progress on a TTY: rows, rows/s, ETA. Silent elsewhere, so logs stay clean. */
export class Progress {
  private rows = 0;
  private readonly t0 = Date.now();
  private last = 0;
  private shardsDone = 0;

  constructor(
    private readonly total: number | null,
    private readonly shards: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly enabled = Boolean(process.stderr.isTTY),
  ) {}

  update(rows: number, shardsDone = this.shardsDone): void {
    this.rows = rows;
    this.shardsDone = shardsDone;
    const now = Date.now();
    if (!this.enabled || now - this.last < 100) return;
    this.last = now;
    this.render(now);
  }

  done(): void {
    if (!this.enabled) return;
    this.render(Date.now());
    this.out.write('\n');
  }

  private render(now: number): void {
    const s = (now - this.t0) / 1000;
    const rate = s > 0 ? this.rows / s : 0;
    const width = 24;
    let bar = '';
    let eta = '';
    if (this.total) {
      const f = Math.min(1, this.rows / this.total);
      bar = `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(0).padStart(3)}% `;
      eta = rate > 0 ? `  ETA ${fmtSeconds((this.total - this.rows) / rate)}` : '';
    }
    const line = `${bar}${fmtInt(this.rows)}${this.total ? '/' + fmtInt(this.total) : ''} rows  ${fmtInt(Math.round(rate))} rows/s${eta}  shards ${this.shardsDone}/${this.shards}`;
    this.out.write(`\r${line}\x1b[K`);
  }
}

export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
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
