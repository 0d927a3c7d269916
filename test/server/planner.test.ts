import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CONFIG } from '../../engine/model/config.js';
import { moduleCosts, type ModuleCost } from '../../engine/model/cost.js';
import { cutAfter, shapeContract } from '../../engine/model/shape-contract.js';
import { planStages, type PlannerDevice, type PlannerModel } from '../../server/planner/planner.js';

const GiB = 2 ** 30;

function device(id: string, speedGflops: number, over: Partial<PlannerDevice> = {}): PlannerDevice {
  return { id, speedGflops, memoryBytes: 8 * GiB, bandwidthBytesPerSec: 1e9, rttMs: 1, ...over };
}

/** K identical modules: 100 MFLOP forward per sample, 1 MiB of state, 1 MiB of activations per sample. */
function uniformModel(k: number, over: Partial<ModuleCost> = {}): PlannerModel {
  const m: ModuleCost = { forwardFlops: 1e8, stateBytes: 2 ** 20, activationBytesPerSample: 2 ** 20, ...over };
  return { modules: Array.from({ length: k }, () => ({ ...m })), inputBytesPerSample: 3073, boundaryBytesPerSample: Array.from({ length: k }, () => 65_537) };
}

function moduleCount(plan: { firstModule: number; lastModule: number }): number {
  return plan.lastModule - plan.firstModule + 1;
}

const contract = shapeContract({ ...DEFAULT_MODEL_CONFIG, model: 'resnet32', modules: 4 });
const resnet32: PlannerModel = {
  modules: moduleCosts(contract),
  inputBytesPerSample: 32 * 32 * 3 + 1,
  boundaryBytesPerSample: Array.from({ length: 4 }, (_, k) => cutAfter(contract, k, 'float32').bytesPerSample),
};

describe('planner', () => {
  it('uses both devices for a K=4 resnet32 and covers every module once, in order', () => {
    const plan = planStages({ devices: [device('a', 20), device('b', 20)], model: resnet32, batchSize: 64, minDevices: 1 });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.stages.map((s) => s.deviceId).sort()).toEqual(['a', 'b']);
    expect(plan.stages[0]!.firstModule).toBe(0);
    expect(plan.stages[1]!.firstModule).toBe(plan.stages[0]!.lastModule + 1);
    expect(plan.stages[1]!.lastModule).toBe(3);
  });

  it('gives the slower device fewer modules', () => {
    const plan = planStages({ devices: [device('slow', 5), device('fast', 50)], model: uniformModel(8), batchSize: 32, minDevices: 2 });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    const slow = plan.stages.find((s) => s.deviceId === 'slow')!;
    const fast = plan.stages.find((s) => s.deviceId === 'fast')!;
    expect(moduleCount(slow)).toBeLessThan(moduleCount(fast));
    expect(moduleCount(slow) + moduleCount(fast)).toBe(8);
  });

  it('respects device memory: a stage never needs more than its device has', () => {
    // 32 samples x 1 MiB of activations + state: a 40 MiB device fits one module at most... of 3 MiB state each.
    const model = uniformModel(6, { stateBytes: 3 * 2 ** 20 });
    const small = device('small', 100, { memoryBytes: 40 * 2 ** 20 });
    const big = device('big', 10);
    const plan = planStages({ devices: [small, big], model, batchSize: 32, minDevices: 2 });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    const onSmall = plan.stages.find((s) => s.deviceId === 'small')!;
    expect(moduleCount(onSmall)).toBe(2);
    for (const s of plan.stages) {
      const d = s.deviceId === 'small' ? small : big;
      expect(s.memoryBytes).toBeLessThanOrEqual(d.memoryBytes);
    }
  });

  it('refuses with a reason when no split fits memory', () => {
    const plan = planStages({ devices: [device('tiny', 10, { memoryBytes: 2 ** 20 })], model: uniformModel(2), batchSize: 32, minDevices: 1 });
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.reason).toMatch(/memory/);
    expect(plan.reason).toMatch(/smaller batch/);
  });

  it('reports per-stage estimates whose maximum is the bottleneck', () => {
    const plan = planStages({ devices: [device('a', 10), device('b', 10), device('c', 10)], model: uniformModel(6), batchSize: 16, minDevices: 3 });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.stages).toHaveLength(3);
    for (const s of plan.stages) {
      expect(s.estimatedMsPerBatch).toBeGreaterThan(0);
      expect(s.estimatedMsPerBatch).toBeCloseTo(s.computeMs + s.transferMs + 1, 6);
    }
    expect(Math.max(...plan.stages.map((s) => s.estimatedMsPerBatch))).toBeCloseTo(plan.bottleneckMs, 6);
    // 3 x 1e8 FLOP x 16 samples at 10 GFLOP/s x 0.5 efficiency = 960 ms for two modules.
    expect(plan.stages[1]!.computeMs).toBeCloseTo(2 * 960, 3);
  });

  it('uses at least minDevices even when fewer would be as fast, and K caps the count', () => {
    const devices = [device('a', 10), device('b', 10), device('c', 10)];
    const slowLink = { bandwidthBytesPerSec: 1e3 };
    const linked = devices.map((d) => ({ ...d, ...slowLink }));
    // With a terrible link, one device is best; minDevices 2 still forces a split.
    const one = planStages({ devices: linked, model: uniformModel(4), batchSize: 8, minDevices: 1 });
    const two = planStages({ devices: linked, model: uniformModel(4), batchSize: 8, minDevices: 2 });
    expect(one.ok && one.stages.length).toBe(1);
    expect(two.ok && two.stages.length).toBe(2);
    const capped = planStages({ devices, model: uniformModel(2), batchSize: 8, minDevices: 3 });
    expect(capped.ok && capped.stages.length).toBe(2);
  });

  it('plans more than 6 devices in speed order', () => {
    const devices = Array.from({ length: 8 }, (_, i) => device(`d${i}`, 5 + i));
    const plan = planStages({ devices, model: uniformModel(16), batchSize: 16, minDevices: 8 });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.stages).toHaveLength(8);
    expect(plan.stages[0]!.deviceId).toBe('d7');
  });

  describe('with measured device-to-device links (the direct plane)', () => {
    // Equal compute per module; the bytes crossing each cut shrink tenfold per module (as R1 history does deeper in).
    const shrinking: PlannerModel = { ...uniformModel(4), boundaryBytesPerSample: [1e6, 1e5, 1e4, 1e3] };
    const slow = { rttMs: 20, bandwidthBytesPerSec: 1e6 };
    const fast = { rttMs: 0.1, bandwidthBytesPerSec: 1e9 };
    const req = { devices: [device('a', 20), device('b', 20)], model: shrinking, batchSize: 32, minDevices: 2 };

    it('balances compute when the pair link is fast, and prices the cut over it', () => {
      const plan = planStages({ ...req, links: [{ from: 'a', to: 'b', ...fast }, { from: 'b', to: 'a', ...fast }] });
      if (!plan.ok) throw new Error(plan.reason);
      expect(plan.stages.map(moduleCount)).toEqual([2, 2]);
      expect(plan.stages.map((s) => s.inbound)).toEqual(['coordinator', 'peer']);
      // 1e5 bytes x 32 samples over 1 GB/s, plus the link's rtt.
      expect(plan.stages[1]!.transferMs).toBeCloseTo(3.2, 6);
    });

    it('moves the cut to where fewer bytes cross when the pair link is slow, as its cost model predicts', () => {
      const plan = planStages({ ...req, links: [{ from: 'a', to: 'b', ...slow }, { from: 'b', to: 'a', ...slow }] });
      if (!plan.ok) throw new Error(plan.reason);
      // After module 1: 3.2 MB at 1 MB/s = 3.2 s on top of 2 modules; after module 2: 0.32 s on top of 1.
      expect(plan.stages.map(moduleCount)).toEqual([3, 1]);
      const moduleMs = (3 * 1e8 * 32) / ((20 * 1e9 * 0.5) / 1000);
      expect(plan.stages[1]!.estimatedMsPerBatch).toBeCloseTo(moduleMs + 320 + 20, 6);
      expect(plan.bottleneckMs).toBeCloseTo(3 * moduleMs + (3073 * 32) / 1e6 + 1, 6);
    });

    it('prices a device that takes its next input while it computes at the larger of compute and transfer, not their sum', () => {
      // 2 MB/s: the cut after module 1 costs 1.6 s of transfer + 20 ms rtt against 1.92 s of compute for two modules.
      const mid = { rttMs: 20, bandwidthBytesPerSec: 2e6 };
      const links = [{ from: 'a', to: 'b', ...mid }, { from: 'b', to: 'a', ...mid }];
      const moduleMs = (3 * 1e8 * 32) / ((20 * 1e9 * 0.5) / 1000);
      const serial = planStages({ ...req, links });
      const overlapping = planStages({ ...req, links, devices: req.devices.map((d) => ({ ...d, overlapsInput: true })) });
      if (!serial.ok || !overlapping.ok) throw new Error('no plan');
      // Serially the transfer adds to two modules' compute, so the cut moves deeper; overlapped it hides behind it.
      expect(serial.stages.map(moduleCount)).toEqual([3, 1]);
      expect(overlapping.stages.map(moduleCount)).toEqual([2, 2]);
      expect(overlapping.stages[1]!.estimatedMsPerBatch).toBeCloseTo(Math.max(2 * moduleMs, 1600 + 20), 6);
      expect(overlapping.stages[1]!.transferMs).toBeCloseTo(1600, 6);
    });

    it('orders the devices so the data flows over the fast direction of an asymmetric pair', () => {
      const plan = planStages({ ...req, links: [{ from: 'a', to: 'b', ...slow }, { from: 'b', to: 'a', ...fast }] });
      if (!plan.ok) throw new Error(plan.reason);
      expect(plan.stages.map((s) => s.deviceId)).toEqual(['b', 'a']);
      expect(plan.stages.map(moduleCount)).toEqual([2, 2]);
    });

    it('prices a pair with no measured link over the coordinator, as before', () => {
      const withLinks = planStages({ ...req, links: [{ from: 'x', to: 'y', ...slow }] });
      const without = planStages(req);
      expect(withLinks).toEqual(without);
      if (without.ok) expect(without.stages.every((s) => s.inbound === 'coordinator')).toBe(true);
    });
  });
});
