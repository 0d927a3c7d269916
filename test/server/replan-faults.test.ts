import { afterEach, describe, expect, it } from 'vitest';
import { stageMemoryBytes } from '../../engine/model/cost.js';
import { generateSynthetic } from '../../engine/data/synthetic.js';
import { parseJobSpec, type JobDetail } from '../../protocol/index.js';
import { buildJobModel } from '../../server/pipeline/job-model.js';
import { DEFAULT_REBALANCE_RULE, memoryFits, proposeRebalance } from '../../server/planner/rebalance-policy.js';
import { api, runCleanups, smallJob, startTestCoordinator, waitForStatus } from './helpers.js';
import { shapeDevice } from './shape-device.js';
import { historyFaults, storedHistory } from './step-history.js';

afterEach(runCleanups);

// 4 modules, 30 training steps. A re-split is proposed after 4 warm-up and 4 measured batches (one window).
const JOB = smallJob({ modules: 4, limitTrain: 480, limitTest: 32 });
const STEPS = 30;
const RULE = { windows: 1 };
// The slow device's time per batch, far above the fast one's, so one window of measurements always calls for a re-split.
const SLOW_MS = 120;

async function create(c: { url: string; adminToken: string }, body: Record<string, unknown>): Promise<string> {
  const res = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body });
  expect(res.status).toBe(201);
  return (res.body as { id: string }).id;
}

describe('a fault while a re-plan rebuilds stages', () => {
  it.each([
    // A device that cannot build the new range sends nothing back (a device's build error stays on the device).
    { how: 'stays silent', fails: 'silent' as const, code: 'not-ready', reason: /^stage (\d) did not become ready within 2 s after re-planning \(modules \d\.\.\d from step \d+\)/ },
    { how: 'disconnects', fails: 'disconnect' as const, code: 'stage-lost', reason: /lost, stage (\d) waits for an idle device/ },
  ])('a device that $how after its re-assign: the job pauses with the reason, recovers from the hand-over step, every step once', async ({ fails, code, reason }) => {
    // Deadline floor 1 s: a rebuilt stage has 2 deadlines (2 s) to report ready.
    const c = await startTestCoordinator({ deadlineFloorMs: 1000, rebalance: RULE });
    // The join-time speeds mislead the planner: the slow device gets most modules, the re-plan moves them away.
    const slow = await shapeDevice(c.url, { name: 'slow', delayMs: SLOW_MS, speedGflops: 40 });
    const fast = await shapeDevice(c.url, { name: 'fast', delayMs: 2, speedGflops: 10, buildFails: (_a, d) => d.assigns.length === 2 && fails });
    const id = await create(c, JOB);

    const paused = (await waitForStatus(c, id, ['paused', 'done'], 30_000)) as unknown as JobDetail;
    expect(paused.status).toBe('paused');
    const slowRange = paused.plan.find((p) => p.deviceId === slow.deviceId);
    // The re-split was under way: both stages changed range, the fast device never built its new one.
    expect(fast.assigns).toHaveLength(2);
    const rebuild = fast.assigns[1]!;
    expect(rebuild.checkpoint).toBeDefined();
    expect(rebuild.lastModule - rebuild.firstModule).toBeGreaterThan(fast.assigns[0]!.lastModule - fast.assigns[0]!.firstModule);
    expect(slowRange).toBeDefined();
    const codes = paused.events.map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(['replan-started', code, 'replan-cancelled']));
    expect(codes).not.toContain('replanned');
    expect(paused.replans).toEqual([]);
    const fault = paused.events.find((e) => e.code === code)!;
    expect(fault).toMatchObject({ stage: rebuild.stage, deviceId: fast.deviceId });
    expect(fault.message).toMatch(reason);
    expect(fault.message.match(reason)![1]).toBe(String(rebuild.stage));
    expect(c.logs.some((l) => l.includes(fault.message))).toBe(true);
    expect(paused.waitingFor).toBe(`an idle device for stage(s) ${rebuild.stage}`);
    if (fails === 'silent') expect(fast.errors.map((e) => e.code)).toContain('not-ready');
    expect(fast.socket.connected).toBe(false);

    const spare = await shapeDevice(c.url, { name: 'spare', delayMs: 2 });
    const done = (await waitForStatus(c, id, ['done'], 30_000)) as unknown as JobDetail;
    // Recovery restored the hand-over step from the composed checkpoints stored for it, in the new ranges.
    expect(spare.assigns[0]).toMatchObject({ stage: rebuild.stage, firstModule: rebuild.firstModule, lastModule: rebuild.lastModule, step: rebuild.step });
    expect(new Uint8Array(spare.assigns[0]!.checkpoint!)).toEqual(new Uint8Array(rebuild.checkpoint!));
    // The slow device: planned, rebuilt by the re-plan, restored by the rollback to the same step and checkpoint
    // (a later re-plan may follow if it still holds more than one module).
    expect(slow.assigns.length).toBeGreaterThanOrEqual(3);
    expect(slow.assigns[2]).toMatchObject({ firstModule: slow.assigns[1]!.firstModule, lastModule: slow.assigns[1]!.lastModule, step: rebuild.step });
    expect(new Uint8Array(slow.assigns[2]!.checkpoint!)).toEqual(new Uint8Array(slow.assigns[1]!.checkpoint!));
    expect(done.events.some((e) => e.code === 'rolled-back' && e.message.includes(`step ${rebuild.step}`))).toBe(true);
    expect(done.progress).toMatchObject({ stepsDone: STEPS, totalSteps: STEPS });
    for (const st of done.stages) {
      expect(st.missedSteps).toEqual([]);
      expect(st.repeatedSteps).toEqual([]);
      expect(st.trainedSteps).toBe(STEPS);
    }
    expect(historyFaults(storedHistory(c.dataDir, id), 4, STEPS)).toEqual([]);
  });
});

describe('re-planning and device memory', () => {
  it('never moves modules onto a device whose reported memory cannot hold them', async () => {
    const spec = parseJobSpec(JOB);
    const model = buildJobModel(spec, generateSynthetic({ seed: 1, trainCount: 16, testCount: 16 }));
    const need = (a: number, b: number): number => stageMemoryBytes(model.costs, a, b, spec.batchSize);
    // The fast device holds module 0 alone and nothing more: the planner can only give it stage 0 = module 0.
    const memory = need(0, 0);
    for (const [a, b] of [[0, 1], [2, 2], [3, 3]] as const) expect(need(a, b)).toBeGreaterThan(memory);
    const c = await startTestCoordinator({ rebalance: RULE });
    const slow = await shapeDevice(c.url, { name: 'slow', delayMs: SLOW_MS, speedGflops: 40 });
    const fast = await shapeDevice(c.url, { name: 'fast', delayMs: 2, speedGflops: 10, memoryBytes: memory });
    const id = await create(c, JOB);
    const done = (await waitForStatus(c, id, ['done'], 30_000)) as unknown as JobDetail;

    expect(done.plan.map((p) => [p.deviceId, p.firstModule, p.lastModule])).toEqual([[fast.deviceId, 0, 0], [slow.deviceId, 1, 3]]);
    expect(done.replans).toEqual([]);
    expect(done.events.filter((e) => e.code.startsWith('replan'))).toEqual([]);
    expect(fast.assigns).toHaveLength(1);
    // The measured times call for a re-split that moves modules onto the fast device; its memory rules it out.
    const measured = done.plan.map((p) => ({ firstModule: p.firstModule, lastModule: p.lastModule, measuredMs: p.measuredMsPerBatch! }));
    const flops = model.costs.map((m) => m.forwardFlops);
    const rule = { ...DEFAULT_REBALANCE_RULE, ...RULE };
    expect(proposeRebalance(measured, flops, rule)?.ranges[0]!.lastModule).toBeGreaterThan(0);
    expect(proposeRebalance(measured, flops, rule, memoryFits(model.costs, spec.batchSize, [memory, null]))).toBeNull();
    expect(historyFaults(storedHistory(c.dataDir, id), 4, STEPS)).toEqual([]);
  });
});
