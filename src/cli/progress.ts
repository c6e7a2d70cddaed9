// A one-line progress bar on stderr, drawn only when stderr is a terminal (CI logs stay clean).
export class Progress {
  private readonly tty = !!process.stderr.isTTY;
  private last = 0;
  private readonly t0 = performance.now();

  constructor(private readonly label: string) {}

  update(done: number, total: number, unit = ''): void {
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.last < 80 && done < total) return;
    this.last = now;
    const width = 24;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const bar = total > 0 ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width)}] ${done}/${total}` : `${done}`;
    const secs = (now - this.t0) / 1000;
    const rate = secs > 0 ? ` ${(done / secs).toFixed(1)}${unit}/s` : '';
    const eta = total > 0 && done > 0 && done < total ? ` eta ${((secs / done) * (total - done)).toFixed(0)}s` : '';
    process.stderr.write(`\r${this.label} ${bar}${rate}${eta}\x1b[K`);
  }

  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
  }
}
