import { io } from 'socket.io-client';
import * as thirdPartyParser from 'socket.io-msgpack-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS, PROTOCOL_VERSION } from '../../protocol/index.js';
import { api, cleanups, nextEvent, runCleanups, startTestCoordinator, waitFor, type JobJson } from './helpers.js';

afterEach(runCleanups);

describe('REST API', () => {
  it('refuses mutations without the admin token, naming the header to send', async () => {
    const c = await startTestCoordinator();
    for (const token of [undefined, 'wrong']) {
      const res = await api(c, 'POST', '/api/jobs', { body: { model: 'resnet20' }, token });
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).toContain('Authorization: Bearer');
    }
    const stop = await api(c, 'POST', '/api/jobs/nope/stop');
    expect(stop.status).toBe(401);
    expect((await api(c, 'GET', '/api/jobs')).body).toEqual([]);
  });

  it('answers a bad job spec with 400 naming every bad field', async () => {
    const c = await startTestCoordinator();
    const res = await api(c, 'POST', '/api/jobs', { body: { model: 'resnet99', batchSize: '32', bogus: 1 }, token: c.adminToken });
    expect(res.status).toBe(400);
    const message = (res.body as { message: string }).message;
    expect(message).toMatch(/model/);
    expect(message).toMatch(/batchSize/);
    expect(message).toMatch(/bogus/);
    expect((await api(c, 'GET', '/api/jobs')).body).toEqual([]);
  });

  it('creates a job with defaults, lists it, shows it and stops it', async () => {
    const c = await startTestCoordinator();
    const created = await api(c, 'POST', '/api/jobs', { body: { model: 'resnet20', modules: 2, limitTrain: 32, limitTest: 16, minDevices: 3 }, token: c.adminToken });
    expect(created.status).toBe(201);
    const job = created.body as JobJson & { spec: Record<string, unknown> };
    expect(job.status).toBe('waiting');
    expect(job.spec).toMatchObject({ model: 'resnet20', modules: 2, context: 'E', batchSize: 32, wire: 'float32' });

    const list = (await api(c, 'GET', '/api/jobs')).body as JobJson[];
    expect(list.map((j) => j.id)).toEqual([job.id]);
    // Once prepared, the job says what it waits for.
    const waiting = await waitFor(async () => {
      const j = (await api(c, 'GET', `/api/jobs/${job.id}`)).body as JobJson;
      return j.waitingFor?.includes('3 idle device') ? j : undefined;
    }, 'the job to wait for devices');
    expect(waiting.plan).toEqual([]);
    expect(waiting.epochs).toEqual([]);

    expect((await api(c, 'GET', '/api/jobs/job-unknown')).status).toBe(404);
    const model = await api(c, 'GET', `/api/jobs/${job.id}/model`);
    expect(model.status).toBe(409);
    expect(JSON.stringify(model.body)).toMatch(/not started/);

    const stopped = await api(c, 'POST', `/api/jobs/${job.id}/stop`, { token: c.adminToken });
    expect(stopped.status).toBe(200);
    expect((stopped.body as JobJson).status).toBe('stopped');
    expect((await api(c, 'POST', `/api/jobs/${job.id}/stop`, { token: c.adminToken })).status).toBe(409);
    expect((await api(c, 'GET', '/api/devices')).body).toEqual([]);
  });

  it('lists a third-party client (socket.io-msgpack-parser) that joined with the join token', async () => {
    const c = await startTestCoordinator();
    const socket = io(c.url, { transports: ['websocket'], reconnection: false, forceNew: true, parser: thirdPartyParser });
    cleanups.push(() => void socket.disconnect());
    await nextEvent(socket, 'connect');
    const welcome = nextEvent<{ deviceId: string; heartbeatMs: number }>(socket, EVENTS.deviceWelcome);
    socket.emit(EVENTS.deviceJoin, { protocolVersion: PROTOCOL_VERSION, token: c.joinToken, name: 'python-ish', kind: 'node', backend: 'numpy', memoryBytes: 2 ** 30, speedGflops: 3.5 });
    const { deviceId } = await welcome;
    const devices = (await api(c, 'GET', '/api/devices')).body as Array<{ id: string; name: string; status: string; backend: string; speedGflops: number }>;
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ id: deviceId, name: 'python-ish', status: 'idle', backend: 'numpy', speedGflops: 3.5 });
  });
});
