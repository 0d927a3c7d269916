import { afterEach, describe, expect, it } from 'vitest';
import { api, runCleanups, smallJob, startTestCoordinator, waitForStatus } from './helpers.js';
import { shapeDevice, type ShapeDevice } from './shape-device.js';

afterEach(runCleanups);

describe('relay', () => {
  it('forwards R2 history (image entry as uint8) and float16 features across three stages under one credit', async () => {
    const c = await startTestCoordinator({ credits: 1 });
    const devices: ShapeDevice[] = [];
    for (const name of ['a', 'b', 'c']) devices.push(await shapeDevice(c.url, { name, delayMs: 2 }));
    const body = smallJob({ modules: 3, minDevices: 3, context: 'R2', wire: 'float16', limitTrain: 48, limitTest: 16 });
    const id = ((await api(c, 'POST', '/api/jobs', { token: c.adminToken, body })).body as { id: string }).id;
    const done = await waitForStatus(c, id, ['done']);
    const byStage = done.plan.map((p) => devices.find((d) => d.deviceId === p.deviceId)!);
    for (const d of byStage) {
      expect(d.errors).toEqual([]);
      expect(d.maxInFlight).toBe(1);
      // 3 train + 1 eval batch each.
      expect(d.inputs).toHaveLength(4);
    }
    const toStage1 = byStage[1]!.inputs[0]!;
    expect(toStage1.h!.dtype).toBe('float16');
    expect(toStage1.image).toBeUndefined();
    expect(toStage1.history!.map((f) => f.dtype)).toEqual(['uint8']);
    const toStage2 = byStage[2]!.inputs[0]!;
    expect(toStage2.history!.map((f) => [f.dtype, f.shape.slice(1)])).toEqual([
      ['uint8', [32, 32, 3]],
      ['float16', byStage[1]!.assigns[0]!.inputShape],
    ]);
    // Train inputs carry the step's learning rate everywhere; eval inputs none.
    expect(byStage.every((d) => d.inputs.filter((i) => i.phase === 'train').every((i) => typeof i.lr === 'number' && i.lr > 0))).toBe(true);
    expect(byStage.every((d) => d.inputs.filter((i) => i.phase === 'eval').every((i) => i.lr === undefined))).toBe(true);
    expect(byStage[0]!.inputs.filter((i) => i.checkpointAfter).map((i) => i.step)).toEqual([2]);
  });
});
