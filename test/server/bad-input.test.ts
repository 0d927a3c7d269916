import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS, PROTOCOL_VERSION, encodeFrame, type ErrorMessage, type StageInput, type StageOutput } from '../../protocol/index.js';
import { api, connect, joinDevice, nextEvent, runCleanups, smallJob, startTestCoordinator, waitFor, waitForStatus, type TestCoordinator } from './helpers.js';
import { shapeDevice } from './shape-device.js';

afterEach(runCleanups);

/** After any abuse: REST answers and a well-behaved device can still join. */
async function stillServes(c: TestCoordinator): Promise<void> {
  expect((await api(c, 'GET', '/api/jobs')).status).toBe(200);
  const ok = await joinDevice(c.url, { name: 'well-behaved' });
  const devices = (await api(c, 'GET', '/api/devices')).body as Array<{ id: string; status: string }>;
  expect(devices.find((d) => d.id === ok.deviceId)?.status).toBe('idle');
}

function join(token: string, protocolVersion = PROTOCOL_VERSION): Record<string, unknown> {
  return { protocolVersion, token, name: 'intruder', kind: 'node', backend: 'cpu', memoryBytes: 2 ** 30, speedGflops: 1 };
}

/** Opens a raw Engine.IO WebSocket and resolves once the server's open packet arrived. */
async function rawSocket(c: { port: number }): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${c.port}/socket.io/?EIO=4&transport=websocket`);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

function closed(ws: WebSocket, ms = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the server did not close the connection')), ms);
    ws.once('close', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

describe('bad input', () => {
  it('refuses a wrong join token or protocol version with the fix, then disconnects', async () => {
    const c = await startTestCoordinator();
    for (const [payload, code, pattern] of [
      [join('guess'), 'bad-token', /join token is wrong.*--token/],
      [join(c.joinToken, 99), 'version', /version 99.*speaks version 1/],
    ] as const) {
      const socket = connect(c.url);
      await nextEvent(socket, 'connect');
      const error = nextEvent<ErrorMessage>(socket, EVENTS.error);
      const gone = nextEvent(socket, 'disconnect');
      socket.emit(EVENTS.deviceJoin, payload as never);
      const e = await error;
      expect(e.code).toBe(code);
      expect(e.message).toMatch(pattern);
      await gone;
    }
    expect((await api(c, 'GET', '/api/devices')).body).toEqual([]);
    await stillServes(c);
  });

  it('answers unknown events, bad schemas and messages before joining with a reason', async () => {
    const c = await startTestCoordinator();
    const stranger = connect(c.url);
    await nextEvent(stranger, 'connect');
    const notJoined = nextEvent<ErrorMessage>(stranger, EVENTS.error);
    stranger.emit(EVENTS.stageDone, { jobId: 'j', stage: 0, batchId: 1, phase: 'train' });
    expect(await notJoined).toMatchObject({ code: 'not-assigned', event: 'stage:done', batchId: 1 });
    expect((await notJoined).message).toMatch(/device:join/);

    const dev = await joinDevice(c.url);
    const unknown = nextEvent<ErrorMessage>(dev.socket, EVENTS.error);
    (dev.socket.emit as (ev: string, msg: unknown) => void)('stage:telepathy', { x: 1 });
    expect(await unknown).toMatchObject({ code: 'unknown-event', event: 'stage:telepathy' });

    const schema = nextEvent<ErrorMessage>(dev.socket, EVENTS.error);
    dev.socket.emit(EVENTS.deviceHeartbeat, { sentAt: 'now' } as never);
    const e = await schema;
    expect(e.code).toBe('bad-schema');
    expect(e.message).toMatch(/sentAt/);

    const noJob = nextEvent<ErrorMessage>(dev.socket, EVENTS.error);
    dev.socket.emit(EVENTS.stageReady, { jobId: 'job-none', stage: 0 });
    expect(await noJob).toMatchObject({ code: 'not-assigned' });
    await stillServes(c);
  });

  it('closes a connection that sends malformed bytes or a text frame, and only that one', async () => {
    const c = await startTestCoordinator();
    const bystander = await joinDevice(c.url, { name: 'bystander' });
    const garbage = await rawSocket(c);
    const garbageClosed = closed(garbage);
    garbage.send(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
    await garbageClosed;
    const text = await rawSocket(c);
    const textClosed = closed(text);
    text.send('42["device:join",{}]');
    await textClosed;
    expect(bystander.socket.connected).toBe(true);
    await stillServes(c);
  });

  it('closes a connection above the size limit and refuses oversized control messages', async () => {
    const c = await startTestCoordinator({ maxMessageBytes: 512 * 1024 });
    const dev = await joinDevice(c.url);
    const tooLarge = nextEvent<ErrorMessage>(dev.socket, EVENTS.error);
    dev.socket.emit(EVENTS.deviceJoin, { ...join(c.joinToken), name: 'x'.repeat(100), userAgent: 'y'.repeat(1000), padding: 'z'.repeat(100_000) } as never);
    const e = await tooLarge;
    expect(e.code).toBe('too-large');
    expect(e.message).toMatch(/above the limit/);

    const gone = nextEvent(dev.socket, 'disconnect');
    const big = encodeFrame(new Float32Array(256 * 1024), [1, 256, 256, 4], 'float32');
    dev.socket.emit(EVENTS.stageOutput, { jobId: 'j', stage: 0, batchId: 0, epoch: 1, step: 0, phase: 'train', labels: encodeFrame(new Uint8Array(1), [1], 'uint8'), h: big });
    await gone;
    await waitFor(async () => ((await api(c, 'GET', '/api/devices')).body as Array<{ status: string }>)[0]?.status === 'lost', 'the device to be lost');
    await stillServes(c);
  });

  it('refuses a wrong tensor shape and an unknown batch id, and the job still finishes', async () => {
    const c = await startTestCoordinator();
    // Both devices misbehave the same way; only the one holding stage 0 sends outputs.
    const sendFirst = (out: StageOutput, input: StageInput): StageOutput | undefined => {
      if (input.phase !== 'train') return undefined;
      if (input.step === 0) return { ...out, h: encodeFrame(new Float32Array(16 * 8 * 8 * 64), [16, 8, 8, 64], 'float32') };
      if (input.step === 1) return { ...out, batchId: 999 };
      return undefined;
    };
    const devices = [await shapeDevice(c.url, { name: 'a', sendFirst }), await shapeDevice(c.url, { name: 'b', sendFirst })];
    const created = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: smallJob({ limitTrain: 48, limitTest: 16 }) });
    const id = (created.body as { id: string }).id;
    const done = await waitForStatus(c, id, ['done']);
    const sloppy = devices.find((d) => d.deviceId === done.plan[0]!.deviceId)!;
    expect(sloppy.errors).toHaveLength(2);
    expect(sloppy.errors[0]).toMatchObject({ code: 'bad-tensor', event: 'stage:output', batchId: 0 });
    expect(sloppy.errors[0]!.message).toMatch(/tensor h has shape \[16,8,8,64\], stage 1 .*expects \[16,16,16,32\]/);
    expect(sloppy.errors[1]).toMatchObject({ code: 'bad-batch', batchId: 999 });
    const [stage0, stage1] = devices;
    expect(done.epochs).toHaveLength(1);
    expect(stage0!.maxInFlight).toBeLessThanOrEqual(2);
    expect(stage1!.maxInFlight).toBeLessThanOrEqual(2);
    await stillServes(c);
  });
});
