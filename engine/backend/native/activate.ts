// Node-only: makes backend `native` current (select-backend.ts reaches this through a dynamic import).
import * as tf from '@tensorflow/tfjs-core';
import { NATIVE_BACKEND, registerNativeBackend } from './register.js';

let requestedThreads: number | null = null;

/** The ATen thread count to use when `native` is activated (default: ATen's, all cores). */
export function requestNativeThreads(n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new Error(`thread count must be a positive integer, got ${n}`);
  requestedThreads = n ?? null;
}

/** Registers and selects `native`; returns its description, e.g. 'native (ATen, 1 thread)'. */
export async function activateAten(): Promise<string> {
  const addon = registerNativeBackend();
  if (requestedThreads !== null) addon.setThreads(requestedThreads);
  if (!(await tf.setBackend(NATIVE_BACKEND))) throw new Error(`tf.setBackend('${NATIVE_BACKEND}') failed to initialise it`);
  await tf.ready();
  const threads = addon.getThreads();
  return `native (ATen, ${threads} thread${threads === 1 ? '' : 's'})`;
}

/** ATen's thread count now (after activation). */
export function nativeThreadsInUse(): number {
  return registerNativeBackend().getThreads();
}
