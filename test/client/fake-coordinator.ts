import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import type { DeviceToServerEvents, ServerToDeviceEvents } from '../../protocol/events.js';
import { parser } from '../../protocol/parser.js';
import { validateInbound } from '../../protocol/validate.js';

export type CoordinatorSocket = Socket<DeviceToServerEvents, ServerToDeviceEvents>;

interface Recorded {
  event: string;
  payload: unknown;
  /** Which connection it came on (1, 2, ...): a re-join arrives on a new one. */
  connection: number;
}

const WAIT_MS = 20_000;

/**
 * Just enough coordinator for device tests: a plain Socket.IO server with the
 * protocol parser that validates and records everything a device sends,
 * welcomes a join (unless told to refuse it) and lets the test drive the rest.
 */
export class FakeCoordinator {
  readonly events: Recorded[] = [];
  /** Messages from the device that the protocol's schemas refused (tests expect none). */
  readonly violations: string[] = [];
  socket: CoordinatorSocket | null = null;
  refuseJoin: string | null = null;
  private connections = 0;
  private consumed = new Set<number>();
  private wake: (() => void)[] = [];

  private constructor(private readonly io: Server<DeviceToServerEvents, ServerToDeviceEvents>, readonly port: number) {
    io.on('connection', (socket) => {
      const connection = ++this.connections;
      this.socket = socket;
      socket.onAny((event: string, payload: unknown) => {
        // Everything a device sends must pass the server's own validation.
        try {
          validateInbound(event, payload);
        } catch (err: unknown) {
          this.violations.push(err instanceof Error ? err.message : String(err));
        }
        this.events.push({ event, payload, connection });
        if (event === 'device:join') {
          if (this.refuseJoin !== null) {
            socket.emit('error', { code: this.refuseJoin, message: `join refused: ${this.refuseJoin}`, event: 'device:join' });
            socket.disconnect(true);
          } else {
            socket.emit('device:welcome', { deviceId: `dev-${connection}`, protocolVersion: 1, heartbeatMs: 150 });
          }
        }
        this.wake.splice(0).forEach((w) => w());
      });
    });
  }

  static async start(port = 0): Promise<FakeCoordinator> {
    const http = createServer();
    const io = new Server<DeviceToServerEvents, ServerToDeviceEvents>(http, { parser, transports: ['websocket'], maxHttpBufferSize: 64 << 20, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', resolve);
    });
    return new FakeCoordinator(io, (http.address() as AddressInfo).port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The first not yet consumed `event` matching `pred`, already received or still to come. */
  async waitFor<T = Record<string, unknown>>(event: string, pred: (payload: T, r: Recorded) => boolean = () => true, ms = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.events.findIndex((r, idx) => !this.consumed.has(idx) && r.event === event && pred(r.payload as T, r));
      if (i >= 0) {
        this.consumed.add(i);
        return this.events[i]!.payload as T;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${event} within ${ms} ms; got ${this.events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Events (names) of one batch, in arrival order. */
  batchEvents(batchId: number): string[] {
    return this.events.filter((r) => (r.payload as { batchId?: number }).batchId === batchId).map((r) => r.event);
  }

  count(event: string): number {
    return this.events.filter((r) => r.event === event).length;
  }

  async close(): Promise<void> {
    await this.io.close();
  }
}
