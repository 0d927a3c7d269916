/**
 * Runs tasks one at a time in the order they were pushed. tfjs work is
 * sequential anyway; the queue also orders builds, inputs and disposals of a
 * stage so a release can never free a network a step is still using.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Tasks waiting or running. */
  get size(): number {
    return this.pending;
  }

  push(task: () => Promise<void> | void): void {
    this.pending++;
    this.tail = this.tail
      .then(async () => {
        // A macrotask turn between tasks: socket events and heartbeat timers
        // run here, not only after the whole queue drained.
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        await task();
      })
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.pending--;
      });
  }

  /** Resolves once every task pushed so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}
