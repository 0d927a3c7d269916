import { Inject, Injectable } from '@nestjs/common';
import type { DeviceView, PeerLinkView } from '../../protocol/index.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { planStages, type PlannerDevice, type PlannerLink, type PlannerModel, type PlanResult } from './planner.js';

/** A device's network before it was probed (or when it never answered a probe). */
const DEFAULT_BANDWIDTH = 100e6;
const DEFAULT_RTT_MS = 1;

/** Where jobs run: a plan over the idle devices for a new job, a device for a lost stage. */
@Injectable()
export class PlannerService {
  constructor(@Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig) {}

  /** Stages of a job on some of `idle` (planner.ts), at this coordinator's efficiency. */
  plan(idle: DeviceView[], model: PlannerModel, batchSize: number, minDevices: number, links: PeerLinkView[] = []): PlanResult {
    return planFromViews(idle, model, batchSize, minDevices, this.config.planEfficiency, links);
  }

  /** The device a lost stage goes to: the fastest idle one with `needBytes` of memory, if any. */
  pickDevice(idle: DeviceView[], needBytes: number): DeviceView | undefined {
    return idle.filter((d) => d.memoryBytes >= needBytes).sort((a, b) => b.speedGflops - a.speedGflops)[0];
  }
}

/** The plan for devices and links as the REST API lists them (pure: tests feed it what a coordinator measured). */
export function planFromViews(idle: DeviceView[], model: PlannerModel, batchSize: number, minDevices: number, efficiency: number, links: PeerLinkView[]): PlanResult {
  return planStages({ devices: idle.map(toPlannerDevice), model, batchSize, minDevices, efficiency, links: toPlannerLinks(idle, links) });
}

/** Measured links into devices that take direct inputs (a link that failed prices as the relay). */
function toPlannerLinks(idle: DeviceView[], links: PeerLinkView[]): PlannerLink[] {
  const listening = new Set(idle.filter((d) => d.peerAddress !== null).map((d) => d.id));
  const out: PlannerLink[] = [];
  for (const l of links) {
    if (l.rttMs === null || l.bandwidthBytesPerSec === null || !listening.has(l.to)) continue;
    out.push({ from: l.from, to: l.to, rttMs: l.rttMs, bandwidthBytesPerSec: l.bandwidthBytesPerSec });
  }
  return out;
}

function toPlannerDevice(d: DeviceView): PlannerDevice {
  return {
    id: d.id,
    speedGflops: d.speedGflops,
    memoryBytes: d.memoryBytes,
    bandwidthBytesPerSec: d.bandwidthBytesPerSec ?? DEFAULT_BANDWIDTH,
    rttMs: d.rttMs ?? DEFAULT_RTT_MS,
    // A Node device's stage computes in a worker thread while its main thread takes the next input (docs/runtime.md).
    overlapsInput: d.kind === 'node',
  };
}
