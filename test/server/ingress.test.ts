import { afterEach, describe, expect, it } from 'vitest';
import { EVENTS, INGRESS_LIMITS, type ErrorMessage } from '../../protocol/index.js';
import { api, connect, joinDevice, nextEvent, runCleanups, startTestCoordinator } from './helpers.js';

afterEach(runCleanups);

describe('ingress limits', () => {
  it('closes a joined device that sends more messages a second than its connection may, telling it why', async () => {
    const c = await startTestCoordinator();
    const dev = await joinDevice(c.url, { alive: false });
    const refused = nextEvent<ErrorMessage>(dev.socket, EVENTS.error);
    const gone = nextEvent(dev.socket, 'disconnect');
    // Far above the cap: the server refills 1000 a second while it works through them.
    for (let i = 0; i < 5 * INGRESS_LIMITS.connectionMessagesPerSec; i++) dev.socket.emit(EVENTS.deviceHeartbeat, { sentAt: i });
    const e = await refused;
    expect(e.code).toBe('rate-limit');
    expect(e.message).toMatch(/more than 1000 messages/);
    await gone;
    expect((await api(c, 'GET', '/api/jobs')).status).toBe(200);
  });

  it('refuses a frame over the pre-join limit from a socket that has not joined, and closes it', async () => {
    const c = await startTestCoordinator();
    const stranger = connect(c.url);
    await nextEvent(stranger, 'connect');
    const refused = nextEvent<ErrorMessage>(stranger, EVENTS.error);
    const gone = nextEvent(stranger, 'disconnect');
    stranger.emit(EVENTS.deviceHeartbeat, { sentAt: 1, pad: 'x'.repeat(70 * 1024) } as never);
    const e = await refused;
    expect(e).toMatchObject({ code: 'too-large', event: 'frame' });
    expect(e.message).toMatch(/above the limit of 65536/);
    await gone;
  });
});
