import { measureMatMulRate } from './matmul-rate.js';

/**
 * GFLOP/s of the current tfjs backend from a short matMul benchmark (well
 * under a second): what `device:join.speedGflops` reports and the planner
 * weighs stages by. 256^3 first; a backend fast enough to finish that in
 * about a millisecond is timed again at 512^3, where timer resolution no
 * longer dominates.
 */
export function measureDeviceSpeed(): number {
  const small = measureMatMulRate(256, 3);
  if (!Number.isFinite(small) || small < 2) return Number.isFinite(small) ? small : 0;
  const large = measureMatMulRate(512, 3);
  return Number.isFinite(large) ? large : small;
}
