/**
 * Node devices: the stage computes in a worker_threads Worker (stage-worker.ts)
 * so this thread stays free for the Socket.IO connection, heartbeats, probes
 * and the decoding of the next input while a step runs. Tensor bytes cross
 * the thread boundary as transferred ArrayBuffers (see transfer-list.ts).
 * Node-only: the browser page keeps LocalStageHost.
 */
import { Worker } from 'node:worker_threads';
import type { StageInput } from '../protocol/data-messages.js';
import { ProtocolError } from '../protocol/errors.js';
import type { StageAssign } from '../protocol/stage-messages.js';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import type { StageHost, StageReplies } from './stage-host.js';
import type { StageLayout } from './stage-layout.js';
import type { FromStageWorker, StageWorkerFailure, StageWorkerSetup, ToStageWorker } from './stage-worker-messages.js';
import { withTransfers } from './transfer-list.js';

type Answer = Extract<FromStageWorker, { type: 'answer' }>;
type Ok = Extract<Answer, { ok: true }>;

function toError(f: StageWorkerFailure): Error {
  return f.code === undefined ? new Error(f.message) : new ProtocolError(f.code, f.message);
}

export interface StageWorkerInfo {
  backend: NodeBackendName;
  /** describeBackend() in the worker, e.g. 'wasm (SIMD, 1 thread)'. */
  detail: string;
  threadsInUse: number | null;
  adapter: string | null;
}

/** The worker thread of one device process; one at a time holds each assigned stage. */
export class StageWorker {
  private readonly pending = new Map<number, { resolve: (a: Ok) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private nextHost = 1;
  private dead: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly info: StageWorkerInfo,
  ) {}

  /**
   * Starts the worker and waits until its backend is selected. `onExit` is
   * called once if the worker dies on its own (crash, out of memory): every
   * request in flight or later is then rejected.
   */
  static start(setup: StageWorkerSetup, log: (message: string) => void, onExit: (err: Error) => void, entry: URL = new URL('./stage-worker.js', import.meta.url)): Promise<StageWorker> {
    const worker = new Worker(entry, { workerData: setup });
    return new Promise((resolve, reject) => {
      let self: StageWorker | null = null;
      worker.on('message', (msg: FromStageWorker) => {
        if (msg.type === 'log') log(msg.message);
        else if (msg.type === 'started') {
          self = new StageWorker(worker, { backend: msg.backend, detail: msg.detail, threadsInUse: msg.threadsInUse, adapter: msg.adapter });
          resolve(self);
        } else if (msg.type === 'start-failed') {
          reject(new Error(msg.message));
          void worker.terminate();
        } else self?.answer(msg);
      });
      worker.on('error', (err: Error) => {
        if (!self) reject(err);
        else self.die(new Error(`the stage worker failed: ${err.message}`), onExit);
      });
      worker.on('exit', (code) => {
        if (!self) reject(new Error(`the stage worker exited (code ${code}) before its backend was ready`));
        else self.die(new Error(`the stage worker exited (code ${code})`), onExit);
      });
    });
  }

  /** GFLOP/s of the backend the stages train on (measured in the worker). */
  async measureSpeed(): Promise<number> {
    return (await this.request({ type: 'speed', id: 0 })).speed ?? 0;
  }

  /** A StageHostFactory: builds the stage in the worker. */
  readonly build = async (assign: StageAssign): Promise<StageHost> => {
    const host = this.nextHost++;
    const ok = await this.request({ type: 'build', id: 0, host, assign });
    if (!ok.layout) throw new Error('stage worker: a build answered without the stage layout');
    return new WorkerStageHost(this, host, ok.resumedStep ?? null, ok.layout);
  };

  async run(host: number, input: StageInput): Promise<StageReplies> {
    const ok = await this.request({ type: 'run', id: 0, host, input });
    if (!ok.replies) throw new Error('stage worker: a run answered without replies');
    return ok.replies;
  }

  dispose(host: number): void {
    if (!this.dead) this.worker.postMessage({ type: 'dispose', host } satisfies ToStageWorker);
  }

  /** Ends the worker; requests in flight are rejected. */
  async close(): Promise<void> {
    this.dead ??= new Error('the stage worker was closed');
    this.rejectAll(this.dead);
    await this.worker.terminate();
  }

  private request(msg: Exclude<ToStageWorker, { type: 'dispose' }>): Promise<Ok> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const sent = { ...msg, id };
    return new Promise<Ok>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The input's bytes move to the worker; the caller is done with the message.
      const moved = sent.type === 'run' ? withTransfers(sent) : { value: sent, transfer: [] };
      this.worker.postMessage(moved.value, moved.transfer);
    });
  }

  private answer(msg: Answer): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg);
    else p.reject(toError(msg.failure));
  }

  private die(err: Error, onExit: (err: Error) => void): void {
    if (this.dead) return;
    this.dead = err;
    this.rejectAll(err);
    onExit(err);
  }

  private rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** One stage held by the worker. */
class WorkerStageHost implements StageHost {
  constructor(
    private readonly worker: StageWorker,
    private readonly host: number,
    readonly resumedStep: number | null,
    readonly layout: StageLayout,
  ) {}

  run(msg: StageInput): Promise<StageReplies> {
    return this.worker.run(this.host, msg);
  }

  dispose(): void {
    this.worker.dispose(this.host);
  }
}
