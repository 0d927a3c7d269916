/** The CIFAR ResNet backbone as numbers: depths, widths and unit shapes. No tfjs, so the coordinator can read it. */
import type { ModelName } from '../../protocol/names.js';

/** The backbones are the protocol's model names. */
export type ResNetName = ModelName;

/** Blocks per stage: depth = 6n + 2. Keyed by every model name: a name added in protocol/ fails the type check here. */
export const BLOCKS_PER_STAGE: Record<ResNetName, number> = {
  resnet20: 3,
  resnet32: 5,
  resnet44: 7,
  resnet56: 9,
  resnet110: 18,
};

export const STAGE_WIDTHS = [16, 32, 64] as const;

/** One backbone unit: the stem ([0,0]) or a BasicBlock ([stage 1..3, block]). */
export interface UnitSpec {
  stage: number;
  block: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  /** Spatial size of the unit's output. */
  outSize: number;
  inSize: number;
}

/** Output size of a 3x3 conv with padding 1 (or 1x1 with padding 0) at this stride. */
export function convOutSize(size: number, stride: number): number {
  return Math.floor((size - 1) / stride) + 1;
}

export function backboneUnits(model: ResNetName, inChannels: number, inputSize: number): UnitSpec[] {
  const n = BLOCKS_PER_STAGE[model];
  if (n === undefined) throw new Error(`unknown model "${model}"; use one of ${Object.keys(BLOCKS_PER_STAGE).join(', ')}`);
  const units: UnitSpec[] = [{ stage: 0, block: 0, inChannels, outChannels: 16, stride: 1, inSize: inputSize, outSize: inputSize }];
  let size = inputSize;
  let channels = 16;
  for (let s = 1; s <= 3; s++) {
    for (let b = 0; b < n; b++) {
      const stride = s > 1 && b === 0 ? 2 : 1;
      const out = STAGE_WIDTHS[s - 1];
      const outSize = convOutSize(size, stride);
      units.push({ stage: s, block: b, inChannels: channels, outChannels: out, stride, inSize: size, outSize });
      channels = out;
      size = outSize;
    }
  }
  return units;
}
