import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../cli/progress.js';

/** A terminal stand-in that records what is written to it. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const stream = {
    isTTY,
    columns: 200,
    write(chunk: string | Uint8Array): boolean {
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    },
    cursorTo(_x: number, _y?: number, cb?: () => void): boolean {
      out += '\r';
      cb?.();
      return true;
    },
    clearLine(_dir: number, cb?: () => void): boolean {
      cb?.();
      return true;
    },
    moveCursor(_dx: number, _dy: number, cb?: () => void): boolean {
      cb?.();
      return true;
    },
    on: () => stream,
    once: () => stream,
    removeListener: () => stream,
    off: () => stream,
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => out };
}

describe('ProgressBar', () => {
  it('draws label, percentage, counts, rate, ETA and the extra text on a terminal', () => {
    const { stream, text } = fakeStream(true);
    const bar = new ProgressBar('epoch 1/2', 100, 'samples', stream);
    bar.update(50, 'loss 1.234');
    bar.finish('loss 0.9');
    const out = text();
    expect(out).toMatch(/epoch 1\/2 \[=+ *\] +\d+% /);
    expect(out).toContain('100/100 samples');
    expect(out).toMatch(/[\d.]+ samples\/s eta \S+ loss 0\.9/);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const { stream, text } = fakeStream(false);
    const bar = new ProgressBar('x', 10, 'bytes', stream);
    bar.update(5);
    bar.finish();
    expect(text()).toBe('');
  });
});
