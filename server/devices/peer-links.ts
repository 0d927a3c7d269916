import type { NetPeerProbe, NetPeerProbeResult, PeerLinkView, PeerListen } from '../../protocol/index.js';

/** A device as the link prober sees it. */
export interface LinkEnd {
  id: string;
  kind: 'node' | 'browser';
  /** Its listener, when it has one. */
  peer: PeerListen | null;
}

/** Longer than a device's own connect timeout (5 s) plus the echoes. */
const PEER_PROBE_TIMEOUT_MS = 15_000;

/**
 * Links measured where data flows (docs/runtime.md): the coordinator asks a
 * Node device to probe another device's listener (net:peer-probe, carrying
 * that listener's probe token) and keeps what it measured, per ordered pair,
 * for the planner to price direct cuts with.
 */
export class PeerLinks {
  private readonly measured = new Map<string, PeerLinkView>();
  private readonly pending = new Map<number, { from: string; done: (r: NetPeerProbeResult | null) => void }>();
  private nextProbeId = 1;

  constructor(private readonly send: (deviceId: string, probe: NetPeerProbe) => boolean) {}

  /** Measures, one after the other, every link between `dev` and `others` whose receiving end listens. */
  async around(dev: LinkEnd, others: LinkEnd[]): Promise<void> {
    for (const other of others) {
      if (other.id === dev.id) continue;
      await this.measure(dev, other);
      await this.measure(other, dev);
    }
  }

  /** A device's answer to net:peer-probe. Unknown or late probe ids are ignored (the probe timed out). */
  result(fromDeviceId: string, msg: NetPeerProbeResult): void {
    const p = this.pending.get(msg.probeId);
    if (!p || p.from !== fromDeviceId) return;
    this.pending.delete(msg.probeId);
    p.done(msg);
  }

  /** Every measured link, newest measurement per ordered pair. */
  list(): PeerLinkView[] {
    return [...this.measured.values()].map((l) => ({ ...l }));
  }

  /** The device is gone: its links mean nothing any more. */
  forget(deviceId: string): void {
    for (const [key, l] of this.measured) if (l.from === deviceId || l.to === deviceId) this.measured.delete(key);
  }

  private async measure(from: LinkEnd, to: LinkEnd): Promise<void> {
    if (from.kind !== 'node' || to.peer === null) return;
    const probeId = this.nextProbeId++;
    const result = await new Promise<NetPeerProbeResult | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(probeId);
        resolve(null);
      }, PEER_PROBE_TIMEOUT_MS);
      timer.unref();
      const done = (r: NetPeerProbeResult | null): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.pending.set(probeId, { from: from.id, done });
      if (!this.send(from.id, { probeId, targetDeviceId: to.id, address: to.peer!.address, token: to.peer!.probeToken })) {
        this.pending.delete(probeId);
        done(null);
      }
    });
    this.measured.set(`${from.id}>${to.id}`, {
      from: from.id,
      to: to.id,
      rttMs: result?.rttMs ?? null,
      bandwidthBytesPerSec: result?.bandwidthBytesPerSec ?? null,
      error: result === null ? `no answer from ${from.id} within ${PEER_PROBE_TIMEOUT_MS} ms` : (result.error ?? null),
      measuredAt: Date.now(),
    });
  }
}
