import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, PreprocessSpec } from '../../engine/data/dataset.js';
import type { ModelConfig } from '../../engine/model/config.js';
import { boundaryBytesPerSample, moduleCosts, type ModuleCost } from '../../engine/model/cost.js';
import { GllNetwork } from '../../engine/model/network.js';
import { modelConfigForJob } from '../../engine/model/job-config.js';
import type { JobSpec, TensorDtype } from '../../protocol/index.js';
import type { PlannerModel } from '../planner/planner.js';

type Hwc = [number, number, number];

/** Data description sent in `stage:assign.data`. */
export interface StageData {
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  preprocess: PreprocessSpec;
}

/**
 * Everything the coordinator needs to know about a job's network, read once
 * from a GllNetwork built and disposed at job preparation: per-module shapes,
 * costs and cut sizes. The coordinator never trains, so it keeps no tensors.
 */
export interface JobModel {
  config: ModelConfig;
  moduleCount: number;
  inputShapes: Hwc[];
  outputShapes: Hwc[];
  costs: ModuleCost[];
  /** Per module k: bytes per sample crossing the cut after k at the job's wire dtype. */
  boundaryBytes: number[];
  historyLength: number;
  /** The augmented uint8 image travels with every output (E context or decoder target). */
  sendsImage: boolean;
  data: StageData;
}

/** One history entry a stage's output must carry. */
export interface HistoryExpectation {
  module: number;
  shape: Hwc;
  dtype: TensorDtype;
}

/** What `stage:output` of a stage ending at `lastModule` carries, per example. */
export interface OutputExpectation {
  h: Hwc;
  image: Hwc | null;
  history: HistoryExpectation[];
}

export async function buildJobModel(spec: JobSpec, data: Dataset): Promise<JobModel> {
  await tf.ready();
  const info = {
    height: data.train.height,
    width: data.train.width,
    channels: data.train.channels,
    numClasses: data.numClasses,
    preprocess: data.preprocess,
  };
  // The devices' own mapping, so coordinator and devices agree on every shape.
  const config = modelConfigForJob(spec, info);
  const net = new GllNetwork(config);
  try {
    const k = net.moduleCount;
    const range = Array.from({ length: k }, (_, i) => i);
    return {
      config,
      moduleCount: k,
      inputShapes: range.map((i) => net.inputShape(i)),
      outputShapes: range.map((i) => net.outputShape(i)),
      costs: moduleCosts(net),
      boundaryBytes: range.map((i) => boundaryBytesPerSample(net, i, spec.wire)),
      historyLength: net.historyLength,
      sendsImage: net.mode.image || config.decoder,
      data: info,
    };
  } finally {
    net.dispose();
  }
}

export function imageShape(model: JobModel): Hwc {
  return [model.data.height, model.data.width, model.data.channels];
}

/**
 * The output of modules ..lastModule: h of the last module, the uint8 image
 * when the job sends it, and the combined inputs of the last n modules for
 * R<n> (module 0's entry is the image itself, as uint8), oldest first.
 */
export function outputExpectation(model: JobModel, lastModule: number, wire: JobSpec['wire']): OutputExpectation {
  const history: HistoryExpectation[] = [];
  for (let j = Math.max(0, lastModule - model.historyLength + 1); j <= lastModule && model.historyLength > 0; j++) {
    history.push({ module: j, shape: model.inputShapes[j]!, dtype: j === 0 ? 'uint8' : wire });
  }
  return { h: model.outputShapes[lastModule]!, image: model.sendsImage ? imageShape(model) : null, history };
}

// Labels may travel as int32 (4 bytes, the estimate counts 1) and int8 frames
// carry a scale; a few KiB covers header strings and numbers.
const LABEL_SLACK_PER_SAMPLE = 4;
const HEADER_SLACK_BYTES = 16 * 1024;

/** Most tensor bytes one `stage:output` after `lastModule` may carry (stage:assign.maxFrameBytes). */
export function outputBytesPerBatch(model: JobModel, lastModule: number, batchSize: number): number {
  return (model.boundaryBytes[lastModule]! + LABEL_SLACK_PER_SAMPLE) * batchSize + HEADER_SLACK_BYTES;
}

/** Bytes of the largest stage checkpoint: every module's state on one device, with msgpack overhead. */
export function checkpointBytesBound(model: JobModel, first = 0, last = model.moduleCount - 1): number {
  let bytes = 0;
  for (let k = first; k <= last; k++) bytes += model.costs[k]!.stateBytes;
  return Math.ceil(bytes * 1.05) + 64 * 1024;
}

/**
 * The largest message a device of this job may send the coordinator: any
 * cut's output at the job's batch size, or a whole-network checkpoint.
 */
export function largestInboundBytes(model: JobModel, batchSize: number): number {
  let max = checkpointBytesBound(model);
  for (let k = 0; k < model.moduleCount; k++) max = Math.max(max, outputBytesPerBatch(model, k, batchSize));
  return max;
}

export function plannerModel(model: JobModel): PlannerModel {
  const [h, w, c] = imageShape(model);
  return { modules: model.costs, inputBytesPerSample: h * w * c + 1, boundaryBytesPerSample: model.boundaryBytes };
}
