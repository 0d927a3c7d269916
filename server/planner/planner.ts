import { stageMemoryBytes, type ModuleCost } from '../../engine/model/cost.js';

/** What the planner knows of a device. */
export interface PlannerDevice {
  id: string;
  /** Measured matMul speed, GFLOP/s. */
  speedGflops: number;
  /** Memory the device may use for training. */
  memoryBytes: number;
  /** Coordinator -> device bandwidth, bytes per second. */
  bandwidthBytesPerSec: number;
  rttMs: number;
  /**
   * Whether the device receives and decodes its next input while it computes
   * the current one (a Node device: its stage runs in a worker thread). Then
   * its time per batch is the larger of compute and transfer, not their sum.
   */
  overlapsInput?: boolean;
}

/**
 * A link measured from one device to another's peer listener: a cut between
 * them would carry its bytes over this link (the direct plane), not over
 * the coordinator's.
 */
export interface PlannerLink {
  from: string;
  to: string;
  rttMs: number;
  bandwidthBytesPerSec: number;
}

/** The model as the planner sees it (engine/model/cost.ts). */
export interface PlannerModel {
  modules: ModuleCost[];
  /** Bytes per sample stage 0 receives (raw uint8 image + label). */
  inputBytesPerSample: number;
  /** Per module k: bytes per sample crossing the cut after k (boundaryBytesPerSample). */
  boundaryBytesPerSample: number[];
}

export interface PlanRequest {
  devices: PlannerDevice[];
  model: PlannerModel;
  batchSize: number;
  /** Use at least this many devices when the module count allows. */
  minDevices: number;
  /** Fraction of speedGflops training reaches (default 0.5). */
  efficiency?: number;
  /** Measured device-to-device links; a cut over a pair found here is priced with it. */
  links?: PlannerLink[];
}

export interface PlannedStage {
  deviceId: string;
  firstModule: number;
  lastModule: number;
  /** Time per batch in a full pipeline: compute + inbound transfer + rtt, or the larger of compute and transfer + rtt where the device overlaps them. */
  estimatedMsPerBatch: number;
  computeMs: number;
  transferMs: number;
  /** Whether the stage's inbound bytes were priced over a measured device-to-device link or the coordinator's. */
  inbound: 'peer' | 'coordinator';
  /** Weights, optimiser state and one module's activations for one batch. */
  memoryBytes: number;
}

export type PlanResult =
  | { ok: true; stages: PlannedStage[]; bottleneckMs: number }
  | { ok: false; reason: string };

/** Above this many devices, orders are not enumerated: the fastest come first. */
const MAX_PERMUTED_DEVICES = 6;
const DEFAULT_EFFICIENCY = 0.5;

interface StageCost {
  ms: number;
  inbound: 'peer' | 'coordinator';
  computeMs: number;
  transferMs: number;
  memoryBytes: number;
}

/** Stage cost of modules a..b; `via` is the measured link from the previous stage's device, if any. */
type CostFn = (a: number, b: number, via?: PlannerLink) => StageCost;

/** Cost tables of one device for every module range [a..b], via prefix sums. */
function costTable(d: PlannerDevice, model: PlannerModel, batch: number, efficiency: number): CostFn {
  const k = model.modules.length;
  const flops = [0];
  for (const m of model.modules) flops.push(flops[flops.length - 1]! + m.forwardFlops);
  // Looked up for every split the search tries: computed once per range.
  const memory: number[][] = Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => (b < a ? 0 : stageMemoryBytes(model.modules, a, b, batch))));
  const flopsPerMs = Math.max(d.speedGflops, 1e-6) * 1e9 * efficiency / 1000;
  return (a, b, via) => {
    // Training is ~3x the forward pass: forward, input grads, weight grads.
    const computeMs = (3 * (flops[b + 1]! - flops[a]!) * batch) / flopsPerMs;
    const inbound = a === 0 ? model.inputBytesPerSample : model.boundaryBytesPerSample[a - 1]!;
    // Stage 0's images always come from the coordinator; a later stage's inputs over the link that carries them.
    const link = a > 0 && via ? via : { bandwidthBytesPerSec: d.bandwidthBytesPerSec, rttMs: d.rttMs };
    const transferMs = (inbound * batch) / (Math.max(link.bandwidthBytesPerSec, 1) / 1000);
    const memoryBytes = memory[a]![b]!;
    const fits = memoryBytes <= d.memoryBytes;
    // In a full pipeline the next batch's bytes cross the link while this one computes, if the device can take them meanwhile.
    const ms = d.overlapsInput === true ? Math.max(computeMs, transferMs + link.rttMs) : computeMs + transferMs + link.rttMs;
    return { ms: fits ? ms : Infinity, inbound: a > 0 && via ? 'peer' : 'coordinator', computeMs, transferMs, memoryBytes };
  };
}

interface Split {
  /** Slowest stage, then the sum of all stages (tie-break: less total work). */
  worst: number;
  total: number;
  /** Last module (exclusive end) of each stage. */
  ends: number[];
}

function better(a: Split, b: Split | null): boolean {
  if (b === null) return true;
  if (a.worst !== b.worst) return a.worst < b.worst;
  return a.total < b.total;
}

/**
 * Best contiguous split of K modules over the devices in this order (each
 * gets at least one module), minimising the slowest stage: a DP over
 * (devices used, modules placed).
 */
function bestSplit(costs: Array<(a: number, b: number) => StageCost>, k: number): Split | null {
  const n = costs.length;
  // best[i][j]: modules 0..j-1 on devices 0..i-1.
  let prev: Array<Split | null> = new Array<Split | null>(k + 1).fill(null);
  prev[0] = { worst: 0, total: 0, ends: [] };
  for (let i = 1; i <= n; i++) {
    const cur: Array<Split | null> = new Array<Split | null>(k + 1).fill(null);
    const cost = costs[i - 1]!;
    // Leave at least one module for each later device.
    for (let j = i; j <= k - (n - i); j++) {
      let best: Split | null = null;
      for (let m = i - 1; m < j; m++) {
        const p = prev[m];
        if (!p || !Number.isFinite(p.worst)) continue;
        const c = cost(m, j - 1).ms;
        if (!Number.isFinite(c)) continue;
        const cand: Split = { worst: Math.max(p.worst, c), total: p.total + c, ends: [...p.ends, j] };
        if (better(cand, best)) best = cand;
      }
      cur[j] = best;
    }
    prev = cur;
  }
  return prev[k] ?? null;
}

/** Every ordered choice of `n` of `items` (n-permutations). */
function* arrangements<T>(items: T[], n: number, prefix: T[] = []): Generator<T[]> {
  if (prefix.length === n) {
    yield prefix;
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    yield* arrangements(rest, n, [...prefix, items[i]!]);
  }
}

/**
 * Chooses how many devices to use (at least minDevices, or every module on
 * its own device when K is smaller; at most the devices available) and a
 * contiguous module range per device, minimising the slowest stage's time per
 * batch: compute = 3 x forward FLOPs x batch / (speed x efficiency), transfer
 * = inbound bytes x batch / bandwidth + rtt, and the stage's time their sum,
 * or the larger of the two on a device that overlaps them, with weights + state + activations fitting the
 * device's memory. Device orders are enumerated for up to 6 devices; beyond
 * that the fastest devices are taken in speed order.
 */
export function planStages(req: PlanRequest): PlanResult {
  const k = req.model.modules.length;
  const efficiency = req.efficiency ?? DEFAULT_EFFICIENCY;
  if (k === 0) return { ok: false, reason: 'the model has no modules' };
  const lo = Math.min(req.minDevices, k);
  const hi = Math.min(req.devices.length, k);
  if (req.devices.length < lo) {
    return { ok: false, reason: `the job needs ${lo} device(s), ${req.devices.length} available` };
  }
  const tables = new Map(req.devices.map((d) => [d.id, costTable(d, req.model, req.batchSize, efficiency)] as const));
  const links = new Map((req.links ?? []).map((l) => [`${l.from}>${l.to}`, l] as const));
  // Each position's cost, priced over the link from the device before it in this order.
  const positioned = (order: PlannerDevice[]): Array<(a: number, b: number) => StageCost> =>
    order.map((d, i) => {
      const via = i === 0 ? undefined : links.get(`${order[i - 1]!.id}>${d.id}`);
      const table = tables.get(d.id)!;
      return (a, b) => table(a, b, via);
    });
  const bySpeed = [...req.devices].sort((a, b) => b.speedGflops - a.speedGflops);
  let best: { split: Split; order: PlannerDevice[] } | null = null;
  for (let n = lo; n <= hi; n++) {
    const orders = req.devices.length <= MAX_PERMUTED_DEVICES ? arrangements(req.devices, n) : [bySpeed.slice(0, n)];
    for (const order of orders) {
      const split = bestSplit(positioned(order), k);
      if (!split) continue;
      // Equal bottlenecks go to less total time (less traffic), then to fewer devices (found first).
      const tie = best !== null && Math.abs(split.worst - best.split.worst) <= best.split.worst * 1e-9;
      const wins = best === null || (tie ? split.total < best.split.total * (1 - 1e-9) : split.worst < best.split.worst);
      if (wins) best = { split, order };
    }
  }
  if (!best) {
    const mem = req.devices.map((d) => `${d.id}: ${(d.memoryBytes / 2 ** 20).toFixed(0)} MiB`).join(', ');
    return { ok: false, reason: `no split of ${k} modules fits the devices' memory (${mem}) at batch size ${req.batchSize}; use a smaller batch, more modules or devices with more memory` };
  }
  const stages: PlannedStage[] = [];
  let start = 0;
  const costs = positioned(best.order);
  best.split.ends.forEach((end, i) => {
    const d = best.order[i]!;
    const c = costs[i]!(start, end - 1);
    stages.push({ deviceId: d.id, firstModule: start, lastModule: end - 1, estimatedMsPerBatch: c.ms, computeMs: c.computeMs, transferMs: c.transferMs, inbound: c.inbound, memoryBytes: c.memoryBytes });
    start = end;
  });
  return { ok: true, stages, bottleneckMs: best.split.worst };
}
