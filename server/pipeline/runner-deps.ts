import type { Dataset } from '../../engine/data/dataset.js';
import type { DashEpoch, DashMetrics, JobSpec, ServerToDeviceEvent, ServerToDevicePayloads } from '../../protocol/index.js';
import type { CoordinatorConfig } from '../config.js';
import type { CheckpointStore } from '../storage/checkpoint.store.js';
import type { MetricsStore } from '../storage/metrics.store.js';
import type { PeerInfo } from './cuts.js';

/** What a job's runner needs of the coordinator around it (given by JobsService at creation). */
export interface RunnerDeps {
  config: CoordinatorConfig;
  metrics: MetricsStore;
  checkpoints: CheckpointStore;
  loadData(spec: JobSpec): Promise<Dataset>;
  send<E extends ServerToDeviceEvent>(deviceId: string, event: E, payload: ServerToDevicePayloads[E]): boolean;
  deviceName(deviceId: string): string;
  /** Memory the device reported at join, bytes; null for a device the coordinator no longer knows. */
  deviceMemoryBytes(deviceId: string): number | null;
  /** The device's kind and peer listener, for the job's direct cuts. */
  peerOf(deviceId: string): PeerInfo;
  /** The job no longer holds this device. */
  freeDevice(deviceId: string): void;
  /** Gives up on a device: tell it why (an `error` with `code`) and treat it as lost. */
  dropDevice(deviceId: string, code: string, message: string): void;
  /** Status changed: the scheduler may have work (free devices, a stage to re-assign). */
  changed(): void;
  dashMetrics(m: DashMetrics): void;
  dashEpoch(e: DashEpoch): void;
}
