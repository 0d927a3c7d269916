import type { PreprocessSpec } from '../engine/data/dataset.js';
import type { GllNetwork } from '../engine/model/network.js';
import type { JobSpec } from '../protocol/job-spec.js';
import type { StageDataInfo } from '../engine/model/job-config.js';

export type WireDtype = JobSpec['wire'];
type Shape3 = [number, number, number];

/** One R-context entry a stage receives: the combined input of an earlier module. */
export interface HistorySlot {
  module: number;
  /** Per-example shape [H, W, C] (module `module`'s input). */
  shape: Shape3;
  /** Module 0's input is the image itself: it travels as the uint8 image, not as floats. */
  raw: boolean;
}

/** What a stage receives and sends, derived once per assignment from the network. */
export interface StageLayout {
  stage: number;
  first: number;
  last: number;
  isLast: boolean;
  /** Raw image [H, W, C]. */
  image: Shape3;
  /** h entering module `first` [H, W, C]; the image for stage 0. */
  input: Shape3;
  /** R-context entries expected with each input, oldest first. */
  history: HistorySlot[];
  /** The uint8 image travels with the batch: E context or a decoder target downstream. */
  carriesImage: boolean;
  /** Context mode has E: later modules normalise the image as the E source. */
  usesImage: boolean;
  decoder: boolean;
  wire: WireDtype;
  numClasses: number;
  preprocess: PreprocessSpec;
  /** "stage 1 (modules 3..5)", for messages. */
  label: string;
}

export function stageLayout(net: GllNetwork, stage: number, first: number, last: number, data: StageDataInfo, wire: WireDtype): StageLayout {
  // StageRunner keeps the inputs of the last n modules; in front of module
  // `first` that is c_{first-n} .. c_{first-1} (fewer near the start).
  const n = net.historyLength;
  const history: HistorySlot[] = [];
  for (let m = Math.max(0, first - n); m < first; m++) history.push({ module: m, shape: net.inputShape(m), raw: m === 0 });
  return {
    stage,
    first,
    last,
    isLast: last === net.moduleCount - 1,
    image: [data.height, data.width, data.channels],
    input: net.inputShape(first),
    history,
    carriesImage: net.mode.image || net.config.decoder,
    usesImage: net.mode.image,
    decoder: net.config.decoder,
    wire,
    numClasses: data.numClasses,
    preprocess: data.preprocess,
    label: `stage ${stage} (modules ${first}..${last})`,
  };
}
