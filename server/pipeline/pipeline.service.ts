import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EVENTS, ProtocolError, type DeviceToServerPayloads } from '../../protocol/index.js';
import type { JobRunner } from './job-runner.js';

/** The stage events a job's runner handles. */
export type StageEvent = 'stage:ready' | 'stage:output' | 'stage:done' | 'stage:metrics' | 'stage:eval' | 'stage:checkpoint' | 'stage:arrived' | 'stage:relay-fallback';

/**
 * The running pipelines of this coordinator, one JobRunner per job: routes
 * each validated stage message to its job's runner and answers what the
 * other services ask of all of them (is a device inside a step).
 */
@Injectable()
export class PipelineService implements OnModuleDestroy {
  private readonly runners = new Map<string, JobRunner>();

  add(runner: JobRunner): void {
    this.runners.set(runner.id, runner);
  }

  get(jobId: string): JobRunner | undefined {
    return this.runners.get(jobId);
  }

  /** Every runner, in creation order. */
  all(): JobRunner[] {
    return [...this.runners.values()];
  }

  /** Whether some job has a batch in flight at the device, or waits for it to build a stage. */
  computing(deviceId: string): boolean {
    return this.all().some((r) => r.computing(deviceId));
  }

  /** Routes one validated stage message to its job's runner (ProtocolError on a violation). */
  async stageMessage<E extends StageEvent>(deviceId: string, event: E, msg: DeviceToServerPayloads[E]): Promise<void> {
    const runner = this.runners.get(msg.jobId);
    if (!runner) throw new ProtocolError('not-assigned', `${event}: job ${msg.jobId} is not running on this coordinator`);
    switch (event) {
      case EVENTS.stageReady:
        return runner.onReady(deviceId, msg as DeviceToServerPayloads['stage:ready']);
      case EVENTS.stageOutput:
        return runner.onOutput(deviceId, msg as DeviceToServerPayloads['stage:output']);
      case EVENTS.stageDone:
        return runner.onDone(deviceId, msg as DeviceToServerPayloads['stage:done']);
      case EVENTS.stageMetrics:
        return runner.onMetrics(deviceId, msg as DeviceToServerPayloads['stage:metrics']);
      case EVENTS.stageEval:
        return runner.onEval(deviceId, msg as DeviceToServerPayloads['stage:eval']);
      case EVENTS.stageCheckpoint:
        return runner.onCheckpoint(deviceId, msg as DeviceToServerPayloads['stage:checkpoint']);
      case EVENTS.stageArrived:
        return runner.onArrived(deviceId, msg as DeviceToServerPayloads['stage:arrived']);
      case EVENTS.stageRelayFallback:
        return runner.onRelayFallback(deviceId, msg as DeviceToServerPayloads['stage:relay-fallback']);
    }
  }

  /** The coordinator is closing: every job tells its devices. */
  onModuleDestroy(): void {
    for (const r of this.runners.values()) r.shutdown();
  }
}
