import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import * as thirdParty from 'socket.io-msgpack-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS, type DeviceToServerEvents, type ServerToDeviceEvents } from '../../protocol/events.js';
import { parser } from '../../protocol/parser.js';
import { decodeFrame, encodeFrame } from '../../protocol/tensor-frame.js';
import { validateFromServer, validateInbound } from '../../protocol/validate.js';
import type { StageInput } from '../../protocol/data-messages.js';

type DeviceServer = Server<DeviceToServerEvents, ServerToDeviceEvents>;
type DeviceClient = Socket<ServerToDeviceEvents, DeviceToServerEvents>;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startServer(maxHttpBufferSize = 8 * 1024 * 1024): Promise<{ server: DeviceServer; url: string }> {
  const http: HttpServer = createServer();
  const server: DeviceServer = new Server(http, { parser, transports: ['websocket'], maxHttpBufferSize, perMessageDeflate: false });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  // close() settles once the HTTP server has closed too.
  cleanups.push(() => server.close());
  return { server, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

function connect(url: string, options: Record<string, unknown> = { parser }): DeviceClient {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options }) as DeviceClient;
  cleanups.push(() => {
    socket.disconnect();
  });
  return socket;
}

/** A promise settled from event handlers; a throwing handler rejects it instead of hanging the test. */
function once<T>(register: (resolve: (value: T) => void, guard: (fn: () => void) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const guard = (fn: () => void): void => {
      try {
        fn();
      } catch (err: unknown) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    register(resolve, guard);
  });
}

// Fail in seconds, not at the suite's two-minute timeout, when a message never arrives.
const TIMEOUT_MS = 15_000;

function stageInputFixture(values: Float32Array): StageInput {
  return {
    jobId: 'job-1',
    stage: 2,
    batchId: 17,
    epoch: 0,
    step: 17,
    phase: 'train',
    lr: 0.1,
    labels: encodeFrame(Int32Array.from({ length: 64 }, (_, i) => i % 10), [64], 'int32'),
    h: encodeFrame(values, [64, 16, 16, 16], 'float32'),
  };
}

describe('Socket.IO with the msgpack parser', () => {
  it('relays a 1 MiB float32 activation frame intact in both directions', async () => {
    const { server, url } = await startServer();
    const values = Float32Array.from({ length: 64 * 16 * 16 * 16 }, (_, i) => Math.sin(i) * 1e3);
    expect(values.byteLength).toBe(1024 * 1024);

    const client = connect(url);
    const echoed = once<Float32Array>((resolve, guard) => {
      server.on('connection', (socket: ServerSocket<DeviceToServerEvents, ServerToDeviceEvents>) => {
        socket.on(EVENTS.stageOutput, (payload) =>
          guard(() => {
            const msg = validateInbound(EVENTS.stageOutput, payload);
            resolve(decodeFrame(msg.h!) as Float32Array);
          }),
        );
        socket.emit(EVENTS.stageInput, stageInputFixture(values));
      });
      client.on(EVENTS.stageInput, (payload) =>
        guard(() => {
          const msg = validateFromServer(EVENTS.stageInput, payload);
          expect(msg.h!.bytes).toBeInstanceOf(Uint8Array);
          const h = decodeFrame(msg.h!) as Float32Array;
          // Send back freshly encoded values: proves decode + re-encode are exact.
          client.emit(EVENTS.stageOutput, {
            jobId: msg.jobId,
            stage: msg.stage,
            batchId: msg.batchId,
            epoch: msg.epoch,
            step: msg.step,
            phase: msg.phase,
            labels: msg.labels,
            h: encodeFrame(h, msg.h!.shape, 'float32'),
          });
        }),
      );
    });

    const back = await echoed;
    expect(back.length).toBe(values.length);
    expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true);
  }, TIMEOUT_MS);

  it('talks to a client using the stock socket.io-msgpack-parser', async () => {
    const { server, url } = await startServer();
    const client = connect(url, { parser: thirdParty });
    const welcome = once<unknown>((resolve, guard) => {
      server.on('connection', (socket: ServerSocket<DeviceToServerEvents, ServerToDeviceEvents>) => {
        socket.on(EVENTS.deviceHeartbeat, (payload) =>
          guard(() => {
            const msg = validateInbound(EVENTS.deviceHeartbeat, payload);
            socket.emit(EVENTS.deviceWelcome, { deviceId: 'dev-1', protocolVersion: 1, heartbeatMs: msg.sentAt });
          }),
        );
      });
      client.on(EVENTS.deviceWelcome, resolve);
    });
    client.emit(EVENTS.deviceHeartbeat, { sentAt: 1234 });
    expect(validateFromServer(EVENTS.deviceWelcome, await welcome)).toEqual({ deviceId: 'dev-1', protocolVersion: 1, heartbeatMs: 1234 });
  }, TIMEOUT_MS);

  it('drops a client that speaks the default text parser and keeps the others', async () => {
    const { server, url } = await startServer();
    const good = connect(url);
    await once<void>((resolve) => good.on('connect', () => resolve()));

    // No `parser` option: socket.io-client's default text encoding.
    const textClient = connect(url, {});
    const outcome = await once<string>((resolve) => {
      textClient.on('connect', () => resolve('connected'));
      textClient.on('connect_error', () => resolve('refused'));
      textClient.on('disconnect', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
    expect(good.connected).toBe(true);
    expect(server.of('/').sockets.size).toBe(1);
  }, TIMEOUT_MS);

  it('closes a connection whose message exceeds maxHttpBufferSize', async () => {
    const { url } = await startServer(64 * 1024);
    const client = connect(url);
    await once<void>((resolve) => client.on('connect', () => resolve()));
    const reason = once<string>((resolve) => client.on('disconnect', resolve));
    client.emit(EVENTS.stageCheckpoint, { jobId: 'j', stage: 0, epoch: 0, step: 0, weights: new Uint8Array(128 * 1024) });
    expect(await reason).toBe('transport close');
  }, TIMEOUT_MS);
});
