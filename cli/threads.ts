import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';

/** Parses `--threads`: an integer >= 1, rejected (never rounded) otherwise. */
export function parseThreads(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--threads must be an integer >= 1, got "${v}"`);
  return n;
}

/** Threads for each of `devices` local devices sharing `cores`: an even share, at least 1. */
export function threadsPerDevice(devices: number, cores: number = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, devices)));
}

/** The line printed with the backend: what was asked for and what the backend really uses. */
export function threadsLine(requested: number, inUse: number | null): string {
  if (inUse === null) return `threads: ${requested} requested (the backend does not report its thread count)`;
  if (inUse === requested) return `threads: ${inUse}`;
  return `threads: ${inUse} in use (${requested} requested; this backend runs ${inUse === 1 ? 'one thread' : `${inUse} threads`} in Node)`;
}
