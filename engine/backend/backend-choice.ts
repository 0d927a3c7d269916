import * as tf from '@tensorflow/tfjs-core';
import { registerFastConvGradients } from './fast-conv-grads.js';
import { ensureGradients } from './gradients.js';

// Shared by the Node devices (select-backend.ts) and the browser page
// (web/src/device/backend.ts): the order, the fallback and the reasons are
// here once; what loads a backend in each environment is passed in.

/** What activating a backend found out. */
export interface Activated {
  /** e.g. 'wasm (SIMD, 1 thread)', 'webgpu (google swiftshader)'. */
  detail: string;
  /** The GPU backend runs on a software rasteriser: WebAssembly is usually faster then. */
  software: boolean;
  /** A GPU backend's adapter (vendor, architecture, description), at most 200 characters. */
  adapter?: string;
}

/**
 * Thrown by `activate` when the backend would run on a software adapter and
 * software was not allowed: such a GPU backend is slower than the CPU ones.
 */
export class SoftwareAdapter extends Error {}

/** One backend in an order of preference: adding a backend is adding one entry. */
export interface BackendEntry<N extends string> {
  name: N;
  /**
   * Makes it tfjs's current backend, or throws saying why it cannot be used
   * (SoftwareAdapter when it would run in software and `allowSoftware` is false).
   */
  activate: (opts: { allowSoftware: boolean }) => Promise<Activated>;
}

export interface BackendChoice<N extends string> extends Activated {
  name: N;
  /** One line per faster backend that was skipped, saying why. */
  skipped: string[];
}

/** How an environment words what happened. */
export interface ChoiceWording<N extends string> {
  /** The line logged (and kept in `skipped`) for a backend that would not load. */
  skipped(name: N, err: unknown): string;
  /** The error for a backend asked for by name that would not load; without it, the fallback error below. */
  forcedFailed?(name: N, err: unknown): Error;
  /** The error when nothing loaded. */
  none(tried: readonly N[], skipped: readonly string[]): Error;
}

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

/**
 * Makes the first entry that loads current (or only `forced`), with
 * tfjs-core's gradients registered, logging one line per entry skipped.
 * A backend on a software adapter is used when forced; otherwise it is tried
 * again right after `softwareAfter` (never, without it).
 */
export async function chooseBackend<N extends string>(
  entries: readonly BackendEntry<N>[],
  forced: N | undefined,
  wording: ChoiceWording<N>,
  log: (msg: string) => void,
  softwareAfter?: N,
): Promise<BackendChoice<N>> {
  const candidates: { name: N; activate: BackendEntry<N>['activate']; allowSoftware: boolean }[] = (
    forced === undefined ? entries : entries.filter((e) => e.name === forced)
  ).map((e) => ({ name: e.name, activate: e.activate, allowSoftware: forced !== undefined }));
  const skipped: string[] = [];
  let retries = 0;
  for (let i = 0; i < candidates.length; i++) {
    const { name, activate, allowSoftware } = candidates[i]!;
    try {
      const activated = await activate({ allowSoftware });
      await ensureGradients();
      return { name, ...activated, skipped };
    } catch (err: unknown) {
      if (forced !== undefined && wording.forcedFailed) throw wording.forcedFailed(name, err);
      if (err instanceof SoftwareAdapter && softwareAfter !== undefined) {
        // In their own order, after `softwareAfter` (and after each other).
        const after = candidates.findIndex((c) => c.name === softwareAfter && !c.allowSoftware);
        candidates.splice(Math.max(after + retries, i) + 1, 0, { name, activate, allowSoftware: true });
        retries++;
      }
      const line = wording.skipped(name, err);
      skipped.push(line);
      log(line);
    }
  }
  throw wording.none([...new Set(candidates.map((e) => e.name))], skipped);
}

/** tf.setBackend + tf.ready, failing loudly when tfjs reports the backend did not initialise. */
export async function makeCurrent(tfjsName: string): Promise<void> {
  if (!(await tf.setBackend(tfjsName))) throw new Error(`tf.setBackend('${tfjsName}') failed to initialise it`);
  await tf.ready();
}

/**
 * The WebAssembly backend: `setPaths` tells it where its .wasm binaries are
 * (a folder in Node, bundled URLs in the browser); `current` makes it current.
 */
export async function activateWasm(
  setPaths: (wasm: typeof import('@tensorflow/tfjs-backend-wasm')) => void | Promise<void>,
  current: (name: string) => Promise<void> = makeCurrent,
): Promise<Activated> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Only read when the backend first initialises; later calls change nothing.
  await setPaths(wasm);
  await current('wasm');
  // wasm lacks Conv2DBackpropFilter (and more); these make it train, and fast.
  registerFastConvGradients('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return { detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`, software: false };
}

/** The pure-JavaScript backend, with the fast conv gradients. */
export async function activateCpu(current: (name: string) => Promise<void> = makeCurrent): Promise<Activated> {
  await import('@tensorflow/tfjs-backend-cpu');
  await current('cpu');
  registerFastConvGradients('cpu');
  return { detail: 'cpu (pure JavaScript)', software: false };
}
