/**
 * A one-line progress bar for terminals (cli-progress, with rate and ETA):
 * redraws in place on stderr at most 10 times a second, and stays silent
 * when the stream is not a TTY (logs, CI, --json pipes).
 */
import { SingleBar } from 'cli-progress';

export class ProgressBar {
  private readonly start = performance.now();
  private readonly bar: SingleBar | null;

  constructor(
    label: string,
    private readonly total: number,
    unit = 'samples',
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.bar = stream.isTTY
      ? new SingleBar({
          format: `${label} [{bar}] {percentage}% {value}/{total} ${unit} {rate} ${unit}/s eta {eta_formatted} {extra}`,
          stream,
          // Redrawing more often only costs time on the training thread.
          fps: 10,
          barsize: 24,
          barCompleteChar: '=',
          barIncompleteChar: ' ',
          hideCursor: false,
          linewrap: false,
          etaBuffer: 50,
        })
      : null;
    this.bar?.start(total, 0, { rate: '0.0', extra: '' });
  }

  update(done: number, extra = ''): void {
    if (!this.bar) return;
    const seconds = (performance.now() - this.start) / 1000;
    this.bar.update(done, { rate: (done / Math.max(seconds, 1e-9)).toFixed(1), extra });
  }

  finish(extra = ''): void {
    if (!this.bar) return;
    this.update(this.total, extra);
    this.bar.stop();
  }
}
