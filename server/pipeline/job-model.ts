import type { Dataset, PreprocessSpec } from '../../engine/data/dataset.js';
import type { ModelConfig } from '../../engine/model/config.js';
import { moduleCosts, type ModuleCost } from '../../engine/model/cost.js';
import { modelConfigForJob } from '../../engine/model/job-config.js';
import { cutAfter, shapeContract, type CutCrossing, type Hwc, type ShapeContract } from '../../engine/model/shape-contract.js';
import type { JobSpec } from '../../protocol/index.js';
import type { PlannerModel } from '../planner/planner.js';

/** Data description sent in `stage:assign.data`. */
export interface StageData {
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  preprocess: PreprocessSpec;
}

/**
 * Everything the coordinator needs to know about a job's network, computed
 * once at job preparation from its shape contract (no tensors, no tfjs):
 * per-module shapes, costs and cut sizes.
 */
export interface JobModel {
  config: ModelConfig;
  contract: ShapeContract;
  moduleCount: number;
  inputShapes: Hwc[];
  costs: ModuleCost[];
  /** Per module k: bytes per sample crossing the cut after k at the job's wire dtype. */
  boundaryBytes: number[];
  data: StageData;
  /** Label names when the data set has them (image folders), else null. */
  classNames: string[] | null;
}

/** What `stage:output` of a stage ending at some module carries, per example: the contract's cut. */
export type OutputExpectation = CutCrossing;

export function buildJobModel(spec: JobSpec, data: Dataset): JobModel {
  const info = {
    height: data.train.height,
    width: data.train.width,
    channels: data.train.channels,
    numClasses: data.numClasses,
    preprocess: data.preprocess,
  };
  // The devices' own mapping, so coordinator and devices agree on every shape.
  const config = modelConfigForJob(spec, info);
  const contract = shapeContract(config);
  return {
    config,
    contract,
    moduleCount: contract.modules.length,
    inputShapes: contract.modules.map((m) => m.input),
    costs: moduleCosts(contract),
    boundaryBytes: contract.modules.map((_, k) => cutAfter(contract, k, spec.wire).bytesPerSample),
    data: info,
    classNames: data.classNames ?? null,
  };
}

export function imageShape(model: JobModel): Hwc {
  return [model.data.height, model.data.width, model.data.channels];
}

/** The output of modules ..lastModule (engine/model/shape-contract.ts cutAfter). */
export function outputExpectation(model: JobModel, lastModule: number, wire: JobSpec['wire']): OutputExpectation {
  return cutAfter(model.contract, lastModule, wire);
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
