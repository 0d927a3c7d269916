import { measureMatMulRate, readSync, type ReadBack } from './matmul-rate.js';

/**
 * GFLOP/s of the current tfjs backend from a short matMul benchmark (well
 * under a second): what `device:join.speedGflops` reports and the planner
 * weighs stages by, for Node devices (`readSync`, the default) and the
 * browser page (`readAsync`). 256^3 first; a backend fast enough to finish
 * that in about a millisecond is timed again at 512^3, where timer
 * resolution no longer dominates.
 */
export async function measureDeviceSpeed(read: ReadBack = readSync): Promise<number> {
  const small = await measureMatMulRate(256, 3, read);
  if (!Number.isFinite(small) || small < 2) return Number.isFinite(small) ? small : 0;
  const large = await measureMatMulRate(512, 3, read);
  return Number.isFinite(large) ? large : small;
}
