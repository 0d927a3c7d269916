/**
 * The Node device's compute thread (worker_threads entry, started by
 * worker-stage-host.ts): selects the tfjs backend and holds the stage hosts,
 * so a step never blocks the thread that keeps the Socket.IO connection,
 * heartbeats and probes. Requests are served one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isProtocolError } from '../protocol/errors.js';
import { backendAdapter, backendThreads, describeBackend, selectBackend } from '../engine/backend/select-backend.js';
import { measureDeviceSpeed } from '../engine/backend/speed.js';
import { readAsync } from '../engine/backend/matmul-rate.js';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import { LocalStageHost } from './stage-host.js';
import type { FromStageWorker, StageWorkerFailure, StageWorkerSetup, ToStageWorker } from './stage-worker-messages.js';
import { withTransfers } from './transfer-list.js';

const port = parentPort;
if (!port) throw new Error('stage-worker.ts runs as a worker thread (see worker-stage-host.ts)');
const setup = workerData as StageWorkerSetup;
const hosts = new Map<number, LocalStageHost>();
// Atomics.wait blocks this thread like compute does, which is what the slow-step aid stands for.
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let backend: NodeBackendName | null = null;

function post(msg: FromStageWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function failure(err: unknown): StageWorkerFailure {
  const message = err instanceof Error ? err.message : String(err);
  return isProtocolError(err) ? { code: err.code, message } : { message };
}

function host(id: number): LocalStageHost {
  const h = hosts.get(id);
  if (!h) throw new Error(`stage worker: no stage host ${id} (disposed?)`);
  return h;
}

async function serve(msg: ToStageWorker): Promise<void> {
  if (msg.type === 'dispose') {
    hosts.get(msg.host)?.dispose();
    hosts.delete(msg.host);
    return;
  }
  try {
    if (msg.type === 'speed') {
      // dawn.node cannot read a GPU buffer synchronously (tfjs-webgpu's readSync needs an OffscreenCanvas).
      const speed = await (backend === 'webgpu' ? measureDeviceSpeed(readAsync) : measureDeviceSpeed());
      post({ type: 'answer', id: msg.id, ok: true, speed });
    } else if (msg.type === 'build') {
      const h = LocalStageHost.build(msg.assign);
      hosts.set(msg.host, h);
      post({ type: 'answer', id: msg.id, ok: true, resumedStep: h.resumedStep, layout: h.layout });
    } else {
      const h = host(msg.host);
      if (setup.slowStepMs > 0) Atomics.wait(sleeper, 0, 0, setup.slowStepMs * (h.assign.lastModule - h.assign.firstModule + 1));
      const replies = await h.run(msg.input);
      const moved = withTransfers(replies);
      post({ type: 'answer', id: msg.id, ok: true, replies: moved.value }, moved.transfer);
    }
  } catch (err: unknown) {
    post({ type: 'answer', id: msg.id, ok: false, failure: failure(err) });
  }
}

let tail: Promise<void> = Promise.resolve();

async function start(): Promise<void> {
  try {
    const chosen = await selectBackend(setup.backend, (message) => post({ type: 'log', message }), { threads: setup.threads });
    backend = chosen;
    post({ type: 'started', backend: chosen, detail: describeBackend(), threadsInUse: await backendThreads(), adapter: backendAdapter() });
  } catch (err: unknown) {
    post({ type: 'start-failed', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  port!.on('message', (msg: ToStageWorker) => {
    tail = tail.then(() => serve(msg));
  });
}

void start();
