import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { PEER_EVENTS, PROTOCOL_VERSION, parser, type CutView, type ErrorMessage, type JobEvent } from '../../protocol/index.js';
import { api, cleanups, getJob, nextEvent, runCleanups, startTestCoordinator, waitFor, waitForStatus } from '../server/helpers.js';
import { createJob, dumpOutputs, exclusiveMachine, spawnCli, storedSteps, waitForIdle, type Child, type JobDetailJson } from './processes.js';

afterEach(runCleanups);

type DirectJobJson = JobDetailJson & { cuts: CutView[]; relayedTensorBytes: number; events: JobEvent[] };
interface DeviceJson {
  id: string;
  name: string;
  peerAddress: string | null;
}

/** `contsup device ... --listen 127.0.0.1:0` (plus `extra`). */
function spawnListeningDevice(url: string, token: string, name: string, extra: string[] = []): Child {
  return spawnCli(name, ['device', '--url', url, '--token', token, '--name', name, '--backend', 'wasm', '--listen', '127.0.0.1:0', ...extra]);
}

/** A port on 127.0.0.1 where nothing listens: bound once, then closed. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const JOB = { model: 'resnet20', modules: 2, context: 'R1', dataset: 'synthetic', epochs: 1, batchSize: 16, limitTrain: 128, limitTest: 32, minDevices: 2 };

describe('direct stage-to-stage data plane (two device processes on 127.0.0.1)', () => {
  it('trains a job to done with every output sent straight to the next stage: the coordinator relays no tensor bytes', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const c = await startTestCoordinator();
    const devices = ['p1', 'p2'].map((n) => spawnListeningDevice(c.url, c.joinToken, n));
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.logs.join('\n')}`));
    await waitForIdle(c, ['p1', 'p2']);
    const listed = (await api(c, 'GET', '/api/devices')).body as DeviceJson[];
    for (const d of listed) expect(d.peerAddress, d.name).toMatch(/^127\.0\.0\.1:\d+$/);
    // Each device measured the link to the other's listener (GET /api/devices shows idle before the probes end).
    const links = await waitFor(async () => {
      const l = (await api(c, 'GET', '/api/devices/links')).body as Array<{ from: string; to: string; rttMs: number | null; bandwidthBytesPerSec: number | null }>;
      return l.length === 2 ? l : undefined;
    }, 'both links measured', 30_000);
    for (const l of links) expect(l.bandwidthBytesPerSec, `${l.from}>${l.to}`).toBeGreaterThan(0);

    const id = await createJob(c, c.adminToken, JOB);
    await waitForStatus(c, id, ['done'], 150_000);
    const job = (await getJob(c, id)) as DirectJobJson;
    expect(job.cuts).toEqual([{ fromStage: 0, toStage: 1, mode: 'direct', bytes: expect.any(Number) as number, reason: null }]);
    expect(job.cuts[0]!.bytes).toBeGreaterThan(0);
    expect(job.relayedTensorBytes).toBe(0);
    // The bytes the cut carried are what stage 0 sent and stage 1 received.
    expect(job.stages[0]!.bytesOut).toBeGreaterThanOrEqual(job.cuts[0]!.bytes);
    expect(job.stages[1]!.bytesIn).toBe(job.cuts[0]!.bytes);
    expect(job.progress).toMatchObject({ stepsDone: 8, totalSteps: 8 });
    for (const st of job.stages) expect(st.samples, `stage ${st.stage}`).toBe(128);
    // Every step of both modules trained once and was stored.
    const steps = storedSteps(c.dataDir, id);
    expect(steps.filter((r) => r.module === 1).map((r) => r.step).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(job.epochs).toHaveLength(1);
    expect(c.logs.filter((l) => / lost: /.test(l))).toEqual([]);
  }, 300_000);

  it('falls back to the relay when the successor cannot be reached, and the job view says so', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const c = await startTestCoordinator();
    // Both advertise an address where nothing listens, so whichever is stage 1 cannot be reached.
    const devices = await Promise.all(['u1', 'u2'].map(async (n) => spawnListeningDevice(c.url, c.joinToken, n, ['--advertise', `127.0.0.1:${await deadPort()}`])));
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.logs.join('\n')}`));
    await waitForIdle(c, ['u1', 'u2']);
    const links = await waitFor(async () => {
      const l = (await api(c, 'GET', '/api/devices/links')).body as Array<{ rttMs: number | null; error: string | null }>;
      return l.length === 2 ? l : undefined;
    }, 'both links measured', 30_000);
    for (const l of links) {
      expect(l.rttMs).toBeNull();
      expect(l.error).toMatch(/cannot connect|no welcome/);
    }

    const id = await createJob(c, c.adminToken, JOB);
    await waitForStatus(c, id, ['done'], 150_000);
    const job = (await getJob(c, id)) as DirectJobJson;
    expect(job.cuts).toHaveLength(1);
    const cut = job.cuts[0]!;
    expect(cut.mode).toBe('relayed');
    expect(cut.reason).toMatch(/stage 0 cannot reach stage 1 directly: .*127\.0\.0\.1/);
    expect(job.events.map((e) => e.code)).toContain('relay-fallback');
    // Everything went through the coordinator.
    expect(job.relayedTensorBytes).toBe(cut.bytes);
    expect(cut.bytes).toBeGreaterThan(0);
    expect(job.progress).toMatchObject({ stepsDone: 8, totalSteps: 8 });
  }, 300_000);

  it('refuses a peer with a wrong or missing token or for another stage, with a reason, and the job carries on', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const c = await startTestCoordinator();
    const devices = ['r1', 'r2'].map((n) => spawnListeningDevice(c.url, c.joinToken, n));
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.logs.join('\n')}`));
    await waitForIdle(c, ['r1', 'r2']);
    const id = await createJob(c, c.adminToken, { ...JOB, limitTrain: 256 });
    await waitForStatus(c, id, ['running'], 120_000);
    const running = (await getJob(c, id)) as DirectJobJson;
    const listed = (await api(c, 'GET', '/api/devices')).body as DeviceJson[];
    const receiver = listed.find((d) => d.id === running.plan[1]!.deviceId)!;
    const sender = running.plan[0]!.deviceId;

    /** Opens a raw peer link to stage 1's listener, says `hello`, returns the listener's first answer. */
    const tryHello = async (hello: Record<string, unknown>): Promise<{ event: string; payload: unknown }> => {
      const socket = io(`http://${receiver.peerAddress!}`, { transports: ['websocket'], parser, forceNew: true, reconnection: false });
      cleanups.push(() => void socket.disconnect());
      await nextEvent(socket, 'connect');
      const answer = new Promise<{ event: string; payload: unknown }>((resolve) => socket.onAny((event: string, payload: unknown) => resolve({ event, payload })));
      socket.emit(PEER_EVENTS.hello, { protocolVersion: PROTOCOL_VERSION, purpose: 'data', fromDeviceId: sender, jobId: id, stage: 1, ...hello });
      return answer;
    };
    const wrong = await tryHello({ token: 'x'.repeat(48) });
    expect(wrong.event).toBe('error');
    expect(wrong.payload).toMatchObject({ code: 'bad-token', event: 'peer:hello' });
    expect((wrong.payload as ErrorMessage).message).toMatch(/wrong or missing cut token/);
    const missing = await tryHello({ token: '' });
    expect(missing.payload).toMatchObject({ code: 'bad-token' });
    const otherStage = await tryHello({ token: 'x'.repeat(48), stage: 0 });
    expect(otherStage.payload).toMatchObject({ code: 'not-assigned' });
    expect((otherStage.payload as ErrorMessage).message).toMatch(/job .* stage 0 is not assigned to this device/);
    // Data before any hello is refused too.
    const socket = io(`http://${receiver.peerAddress!}`, { transports: ['websocket'], parser, forceNew: true, reconnection: false });
    cleanups.push(() => void socket.disconnect());
    await nextEvent(socket, 'connect');
    const refused = nextEvent<ErrorMessage>(socket, PEER_EVENTS.error);
    socket.emit(PEER_EVENTS.input, { jobId: id, stage: 1, batchId: 0 });
    expect(await refused).toMatchObject({ code: 'not-assigned', event: 'peer:input' });

    await waitForStatus(c, id, ['done'], 150_000);
    const job = (await getJob(c, id)) as DirectJobJson;
    expect(job.cuts[0]).toMatchObject({ mode: 'direct' });
    expect(job.relayedTensorBytes).toBe(0);
    expect(job.progress).toMatchObject({ stepsDone: 16, totalSteps: 16 });
    // The refusals are the listener's: its device says so, and kept running.
    const receiverChild = devices.find((d) => d.name === receiver.name)!;
    await waitFor(() => /refused peer:hello \(bad-token\)/.test(receiverChild.output()), 'the receiver to log the refusal', 5000);
    for (const d of devices) expect(d.proc.exitCode, d.name).toBeNull();
  }, 300_000);
});
