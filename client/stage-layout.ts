import type { PreprocessSpec } from '../engine/data/dataset.js';
import type { StageDataInfo } from '../engine/model/job-config.js';
import { cutBefore, type HistoryEntry, type Hwc, type ShapeContract, type WireDtype } from '../engine/model/shape-contract.js';

/** What a stage receives and sends, derived once per assignment from the model's shape contract. */
export interface StageLayout {
  stage: number;
  first: number;
  last: number;
  isLast: boolean;
  /** Raw image [H, W, C]. */
  image: Hwc;
  /** h entering module `first` [H, W, C]; the image for stage 0. */
  input: Hwc;
  /** R-context entries expected with each input, oldest first (module 0's entry as the uint8 image). */
  history: HistoryEntry[];
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

export function stageLayout(contract: ShapeContract, stage: number, first: number, last: number, data: StageDataInfo, wire: WireDtype): StageLayout {
  const incoming = cutBefore(contract, first, wire);
  return {
    stage,
    first,
    last,
    isLast: last === contract.modules.length - 1,
    image: [data.height, data.width, data.channels],
    input: [...contract.modules[first]!.input],
    history: incoming?.history ?? [],
    carriesImage: contract.sendsImage,
    usesImage: contract.mode.image,
    decoder: contract.config.decoder,
    wire,
    numClasses: data.numClasses,
    preprocess: data.preprocess,
    label: `stage ${stage} (modules ${first}..${last})`,
  };
}
