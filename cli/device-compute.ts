import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StageHostFactory } from '../client/stage-host.js';
import type { NodeBackendName } from '../engine/backend/backend-names.js';

/** Where a Node device's stages compute, and what the device reports about it on join. */
export interface DeviceCompute {
  backend: NodeBackendName;
  /** e.g. 'wasm (SIMD, 1 thread)'. */
  detail: string;
  adapter: string | null;
  threadsInUse: number | null;
  /** 'a worker thread', or 'this thread' when running from TypeScript sources. */
  where: string;
  measureSpeed(): Promise<number>;
  /** Undefined: DeviceRuntime's default, LocalStageHost on this thread. */
  stageHost?: StageHostFactory;
  close(): Promise<void>;
}

export interface DeviceComputeOptions {
  backend?: NodeBackendName;
  threads: number;
  slowStepMs: number;
}

/**
 * Starts the stage worker (client/stage-worker.ts) and selects the backend in
 * it. Run from TypeScript sources (vitest), where no compiled worker entry
 * exists, the stage computes on this thread instead (a step then blocks the
 * event loop, and --slow-step-ms has no effect); the built CLI always uses
 * the worker. `onWorkerExit` is called if the worker dies on its own.
 */
export async function startDeviceCompute(opts: DeviceComputeOptions, log: (msg: string) => void, onWorkerExit: (err: Error) => void): Promise<DeviceCompute> {
  const entry = new URL('../client/stage-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(entry))) {
    const { StageWorker } = await import('../client/worker-stage-host.js');
    const worker = await StageWorker.start({ ...(opts.backend === undefined ? {} : { backend: opts.backend }), threads: opts.threads, slowStepMs: opts.slowStepMs }, log, onWorkerExit, entry);
    return { ...worker.info, where: 'a worker thread', measureSpeed: () => worker.measureSpeed(), stageHost: worker.build, close: () => worker.close() };
  }
  log(`no built stage worker at ${fileURLToPath(entry)} (running from sources): stages compute on this thread`);
  const { backendAdapter, backendThreads, describeBackend, selectBackend } = await import('../engine/backend/select-backend.js');
  const { measureDeviceSpeed } = await import('../engine/backend/speed.js');
  const { readAsync } = await import('../engine/backend/matmul-rate.js');
  const backend = await selectBackend(opts.backend, log, { threads: opts.threads });
  return {
    backend,
    detail: describeBackend(),
    adapter: backendAdapter(),
    threadsInUse: await backendThreads(),
    where: 'this thread',
    // dawn.node cannot read a GPU buffer synchronously (tfjs-webgpu's readSync needs an OffscreenCanvas).
    measureSpeed: () => (backend === 'webgpu' ? measureDeviceSpeed(readAsync) : measureDeviceSpeed()),
    close: () => Promise.resolve(),
  };
}
