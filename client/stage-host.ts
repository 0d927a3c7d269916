import type { StageDone, StageInput, StageOutput } from '../protocol/data-messages.js';
import { EVENTS } from '../protocol/events.js';
import { ProtocolError } from '../protocol/errors.js';
import type { StageCheckpoint, StageEval, StageMetrics } from '../protocol/metrics-messages.js';
import type { StageAssign } from '../protocol/stage-messages.js';
import { formatShape } from '../protocol/tensor-frame.js';
import { checkPayloadSize } from '../protocol/validate.js';
import { GllNetwork } from '../engine/model/network.js';
import { loadStage, saveStage, saveStageAsync } from '../engine/train/checkpoint.js';
import { StageRunner, disposeStageTensors, type ModuleMetrics } from '../engine/train/stage-runner.js';
import { modelConfigForJob } from '../engine/model/job-config.js';
import { trainerSettingsFor } from '../engine/train/recipe.js';
import { shapeContract } from '../engine/model/shape-contract.js';
import { decodeStageInput, disposeStageBatch } from './stage-inputs.js';
import { encodeStageOutput } from './stage-outputs.js';
import { stageLayout, type StageLayout } from './stage-layout.js';

/** What a stage answers one input with; the runtime sends them in this order. */
export interface StageReplies {
  /** Train batches: per-module loss/accuracy. */
  metrics?: StageMetrics;
  /** Eval batches: per-module counts of this batch. */
  eval?: StageEval;
  /** Every stage but the last. */
  output?: StageOutput;
  /** The last stage. */
  done?: StageDone;
  /** When the input asked for `checkpointAfter`. */
  checkpoint?: StageCheckpoint;
}

function moduleStats(metrics: ModuleMetrics[]): StageMetrics['modules'] {
  // correct stays null for a head that cannot classify (supcon): the wire says "not measured", not 0%.
  return metrics.map((m) => ({ module: m.module, loss: m.loss, correct: m.correct, count: m.count }));
}

/**
 * What the device runtime holds for its assigned stage: where the stage
 * computes (this thread, or a worker thread in Node) is the host's business.
 */
export interface StageHost {
  /** Global step the assignment's checkpoint was saved at; null for fresh weights. */
  readonly resumedStep: number | null;
  /** What the stage takes on the wire: inputs from a peer are checked against it on the receiving thread. */
  readonly layout: StageLayout;
  /** Turns one `stage:input` into the messages to send; throws ProtocolError for an input that does not fit. */
  run(msg: StageInput): Promise<StageReplies>;
  /** Frees the stage's tensors; the host is unusable after. */
  dispose(): void;
}

/** Builds the host of one `stage:assign`; throws (or rejects) on a config or checkpoint mismatch. */
export type StageHostFactory = (assign: StageAssign) => StageHost | Promise<StageHost>;

/**
 * One assigned stage computed on the calling thread (browsers, tests, and
 * inside the Node device's worker): its network, its StageRunner and what it
 * expects on the wire. Socket-free: `run` turns one `stage:input` into the
 * messages to send, so the runtime and tests share one code path.
 */
export class LocalStageHost implements StageHost {
  private profiled = false;

  private constructor(
    readonly assign: StageAssign,
    readonly net: GllNetwork,
    readonly runner: StageRunner,
    readonly layout: StageLayout,
    /** Global step the assignment's checkpoint was saved at; null for fresh weights. */
    readonly resumedStep: number | null,
  ) {}

  /** Builds the stage (weights seeded by job.seed, or loaded from assign.checkpoint). Throws on a config or checkpoint mismatch. */
  static build(assign: StageAssign): LocalStageHost {
    const net = new GllNetwork(modelConfigForJob(assign.job, assign.data));
    let runner: StageRunner | null = null;
    try {
      if (net.moduleCount !== assign.job.modules) throw new Error(`the job has ${assign.job.modules} modules but its ${assign.job.model} partition gave ${net.moduleCount}`);
      runner = new StageRunner(net, assign.firstModule, assign.lastModule, trainerSettingsFor(assign.job).sgd);
      const layout = stageLayout(shapeContract(net.config), assign.stage, assign.firstModule, assign.lastModule, assign.data, assign.job.wire);
      const want = layout.stage === 0 ? layout.image : layout.input;
      if (formatShape(assign.inputShape) !== formatShape(want)) {
        throw new ProtocolError('bad-schema', `stage:assign: inputShape is ${formatShape(assign.inputShape)}, but ${layout.label} of ${assign.job.model} takes ${formatShape(want)}`);
      }
      const resumed = assign.checkpoint ? loadStage(runner, assign.checkpoint) : null;
      return new LocalStageHost(assign, net, runner, layout, resumed);
    } catch (err: unknown) {
      runner?.dispose();
      net.dispose();
      throw err;
    }
  }

  /**
   * Runs one input: decode + check, StageRunner.train (train) or .evaluate
   * (eval), then the replies. Throws ProtocolError for an input that does not
   * fit the stage (nothing is run then) or an output above maxFrameBytes.
   * Every tensor made here is disposed before it returns.
   */
  async run(msg: StageInput): Promise<StageReplies> {
    const { layout, runner, assign } = this;
    const batch = decodeStageInput(msg, layout, this.net);
    try {
      const started = performance.now();
      const train = msg.phase === 'train';
      // The first train step of a stage is profiled for its modules' peak memory (reported in stage:metrics).
      const profile = train && !this.profiled;
      const result = train
        ? await runner.train(batch.input, batch.labels, batch.target, this.lrFor(msg), profile)
        : await runner.evaluate(batch.input, batch.labels, batch.target);
      this.profiled ||= profile;
      try {
        const seconds = Math.max(1e-6, (performance.now() - started) / 1000);
        const replies: StageReplies = {};
        const modules = moduleStats(result.metrics);
        if (train) {
          replies.metrics = {
            jobId: msg.jobId,
            stage: msg.stage,
            batchId: msg.batchId,
            epoch: msg.epoch,
            step: msg.step,
            modules,
            samplesPerSec: batch.n / seconds,
            peakBytes: runner.peakBytes.map((b) => Math.max(0, Math.round(b))),
          };
        } else {
          replies.eval = { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, epoch: msg.epoch, modules };
        }
        if (layout.isLast) {
          replies.done = { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, phase: msg.phase };
        } else {
          // Read asynchronously first (cached on the tensors): WebGPU cannot read synchronously.
          await Promise.all([result.output.h, ...result.output.history].map((t) => t.data()));
          const output = encodeStageOutput(msg, result.output, batch, layout);
          checkPayloadSize(EVENTS.stageOutput, output, assign.maxFrameBytes);
          replies.output = output;
        }
        if (train && msg.checkpointAfter === true) {
          // This batch's step is taken, so the stage resumes at the next one.
          const step = msg.step + 1;
          replies.checkpoint = { jobId: msg.jobId, stage: msg.stage, epoch: msg.epoch, step, weights: new Uint8Array(await saveStageAsync(this.runner, step)) };
        }
        return replies;
      } finally {
        disposeStageTensors(result.output);
      }
    } finally {
      disposeStageBatch(batch);
    }
  }

  /** The stage's weights now, as `stage:checkpoint` carries them. */
  checkpoint(step: number): Uint8Array<ArrayBuffer> {
    // A copy: msgpackr may hand back a view of a buffer it reuses, and the bytes outlive this call in the send queue.
    return new Uint8Array(saveStage(this.runner, step));
  }

  private lrFor(msg: StageInput): number {
    // The schema requires lr on train batches; this guards a caller that skipped validation.
    if (msg.lr === undefined) throw new ProtocolError('bad-schema', `stage:input for batch ${msg.batchId}: lr: missing (a train batch carries its learning rate)`);
    return msg.lr;
  }

  dispose(): void {
    this.runner.dispose();
    this.net.dispose();
  }
}
