import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_EVENTS, type DashEpoch, type DashMetrics, type DashState } from '../../protocol/index.js';
import { api, connect, nextEvent, runCleanups, smallJob, startTestCoordinator, waitForStatus } from './helpers.js';
import { shapeDevice } from './shape-device.js';

afterEach(runCleanups);

describe('dashboard feed', () => {
  it('sends state every second and metrics and epochs as they happen to subscribed clients', async () => {
    const c = await startTestCoordinator();
    const dash = connect(c.url);
    const metrics: DashMetrics[] = [];
    const epochs: DashEpoch[] = [];
    const listen = dash.on.bind(dash) as (ev: string, fn: (msg: never) => void) => void;
    listen(DASHBOARD_EVENTS.metrics, (m: DashMetrics) => void metrics.push(m));
    listen(DASHBOARD_EVENTS.epoch, (e: DashEpoch) => void epochs.push(e));
    await nextEvent(dash, 'connect');
    (dash.emit as (ev: string, msg: unknown) => void)(DASHBOARD_EVENTS.subscribe, {});
    const device = await shapeDevice(c.url, { name: 'solo' });
    const state = await nextEvent<DashState>(dash, DASHBOARD_EVENTS.state, 3000);
    expect(state.devices.map((d) => d.id)).toContain(device.deviceId);

    const id = ((await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: smallJob({ modules: 1, minDevices: 1 }) })).body as { id: string }).id;
    await waitForStatus(c, id, ['done']);
    expect(metrics.filter((m) => m.jobId === id).map((m) => m.step)).toEqual([0, 1, 2, 3]);
    expect(epochs).toEqual([{ jobId: id, epoch: 1, testError: 50, moduleErrors: [] }]);
    const later = await nextEvent<DashState>(dash, DASHBOARD_EVENTS.state, 3000);
    expect(later.jobs.find((j) => j.id === id)).toMatchObject({ status: 'done', stepsDone: 4, totalSteps: 4 });
  });

  it('answers a dash:subscribe with fields it does not know with an error event and leaves the socket out of the room', async () => {
    const c = await startTestCoordinator();
    const dash = connect(c.url);
    await nextEvent(dash, 'connect');
    const refused = nextEvent<{ code: string; message: string; event: string }>(dash, 'error');
    (dash.emit as (ev: string, msg: unknown) => void)(DASHBOARD_EVENTS.subscribe, { jobs: 'all' });
    expect(await refused).toMatchObject({ code: 'bad-schema', event: DASHBOARD_EVENTS.subscribe });
    await expect(nextEvent(dash, DASHBOARD_EVENTS.state, 2500)).rejects.toThrow(/no dash:state/);
    expect(c.logs.some((l) => l.includes('refused dash:subscribe'))).toBe(true);
  });
});
