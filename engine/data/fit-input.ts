/**
 * Brings a set to another input shape the way many papers feed small sets to
 * CIFAR networks: 28x28x1 zero-padded (centred) to 32x32 and the grey channel
 * repeated to three. The release feeds Fashion-MNIST this way because its
 * context encoder E is hard-wired to 3 input channels.
 */
import type { ImageSet, PreprocessSpec } from './dataset.js';

export interface InputShape {
  size: number;
  channels: number;
}

/** A copy of `set` at size x size x channels; `set` itself when it already has that shape. */
export function fitImageSet(set: ImageSet, shape: InputShape): ImageSet {
  const { size, channels } = shape;
  if (set.height === size && set.width === size && set.channels === channels) return set;
  if (size < set.height || size < set.width) {
    throw new RangeError(`fitImageSet: input size ${size} is smaller than the images (${set.height}x${set.width}); only padding is supported`);
  }
  if (channels !== set.channels && set.channels !== 1) {
    throw new RangeError(`fitImageSet: cannot turn ${set.channels} channels into ${channels}; only 1 -> N repeats the grey channel`);
  }
  const top = Math.floor((size - set.height) / 2);
  const left = Math.floor((size - set.width) / 2);
  const inPx = set.height * set.width * set.channels;
  const outPx = size * size * channels;
  const images = new Uint8Array(set.count * outPx);
  for (let n = 0; n < set.count; n++) {
    for (let y = 0; y < set.height; y++) {
      for (let x = 0; x < set.width; x++) {
        const src = n * inPx + (y * set.width + x) * set.channels;
        const dst = n * outPx + ((y + top) * size + (x + left)) * channels;
        for (let c = 0; c < channels; c++) images[dst + c] = set.images[src + (set.channels === 1 ? 0 : c)];
      }
    }
  }
  return { images, labels: set.labels, count: set.count, height: size, width: size, channels };
}

/** The normalisation spec for the fitted channels: a one-channel spec's mean/std repeated. */
export function fitPreprocess(spec: PreprocessSpec, channels: number): PreprocessSpec {
  if (spec.mean.length === channels) return spec;
  if (spec.mean.length !== 1) throw new RangeError(`fitPreprocess: a ${spec.mean.length}-channel spec cannot serve ${channels} channels`);
  return { ...spec, mean: new Array<number>(channels).fill(spec.mean[0]), std: new Array<number>(channels).fill(spec.std[0]) };
}
