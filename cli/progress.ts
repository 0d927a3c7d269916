/**
 * A one-line progress bar for terminals: redraws in place on stderr, and
 * stays silent when stderr is not a TTY (logs, CI, --json pipes).
 */
export class ProgressBar {
  private readonly start = performance.now();
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'samples',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY);
  }

  update(done: number, extra = ''): void {
    if (!this.enabled) return;
    const now = performance.now();
    // Redrawing more than ~10 times a second only costs time on the training thread.
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const seconds = (now - this.start) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '='.repeat(filled) + ' '.repeat(width - filled);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const line = `${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${this.unit} ${rate.toFixed(1)} ${this.unit}/s eta ${formatSeconds(eta)} ${extra}`;
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
  }

  finish(extra = ''): void {
    if (!this.enabled) return;
    this.lastDraw = 0;
    this.update(this.total, extra);
    this.stream.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
