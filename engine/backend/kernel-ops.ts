import * as tf from '@tensorflow/tfjs-core';
import { padValues, sliceValues, transposeValues, type NumericArray } from './js-layout.js';

export type Pairs = Array<[number, number]>;
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** A kernel's named input; the registry types inputs as optional. */
export function input(args: KernelArgs, name: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (t === undefined) throw new Error(`kernel input '${name}' is missing`);
  return t;
}

/**
 * Calls one backend's own kernels directly (no engine, no tape) from inside another
 * kernel, and remembers every result so that `disposeTemps` can free them: tensors made
 * here are invisible to tf.memory() and would leak silently otherwise.
 */
export class KernelOps {
  private readonly temps: tf.TensorInfo[] = [];

  readonly backend: tf.KernelBackend;

  /** `backend` is what the engine hands a kernel (typed `{}` by tfjs). */
  constructor(
    readonly backendName: string,
    backend: object,
  ) {
    this.backend = backend as tf.KernelBackend;
  }

  private run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName) as tf.KernelConfig | undefined;
    if (config === undefined) throw new Error(`kernel ${kernelName} is not registered for ${this.backendName}`);
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned several tensors`);
    this.temps.push(out);
    return out;
  }

  /** Takes `t` out of the temporaries: it becomes the caller's result. */
  keep(t: tf.TensorInfo): tf.TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    return t;
  }

  /** Frees every temporary (each holds one reference; reshapes share data by refcount). */
  disposeTemps(): void {
    for (const t of this.temps.splice(0)) this.backend.disposeData(t.dataId);
  }

  fromValues(values: NumericArray, shape: number[], dtype: tf.DataType = 'float32'): tf.TensorInfo {
    const t: tf.TensorInfo = { dataId: this.backend.write(values, shape, dtype), shape, dtype };
    this.temps.push(t);
    return t;
  }

  /** On cpu the backend's own array (do not modify); on wasm a copy. */
  read(t: tf.TensorInfo): NumericArray {
    return this.backend.readSync(t.dataId) as NumericArray;
  }

  zeros(shape: number[]): tf.TensorInfo {
    return this.run('Fill', {}, { shape, value: 0, dtype: 'float32' });
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** The cpu backend's layout kernels are slow generic JS; ours are tight loops (see js-layout.ts). */
  private inJs(x: tf.TensorInfo): boolean {
    return this.backendName === 'cpu' && (x.dtype === 'float32' || x.dtype === 'int32');
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    if (!this.inJs(x)) return this.run('Transpose', { x }, { perm });
    return this.fromValues(transposeValues(this.read(x), x.shape, perm), perm.map((a) => x.shape[a]), x.dtype);
  }

  /**
   * Same result as transpose, but runs of axes that stay together are merged first,
   * and on wasm a rank-3 reversal becomes a 2-D transpose plus a [1,0,2] one: wasm's
   * Transpose is several times faster at those than at a general rank-4 permutation.
   */
  permute(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    const runs: number[][] = [];
    for (const axis of perm) {
      const last = runs[runs.length - 1];
      if (last !== undefined && axis === last[last.length - 1] + 1) last.push(axis);
      else runs.push([axis]);
    }
    const byInput = [...runs].sort((a, b) => a[0] - b[0]);
    const size = (run: number[]): number => run.reduce((n, a) => n * x.shape[a], 1);
    const inShape = byInput.map(size);
    const merged = runs.map((run) => byInput.indexOf(run));
    const outShape = perm.map((a) => x.shape[a]);
    if (merged.every((a, i) => a === i)) return this.reshape(x, outShape);
    const flat = this.reshape(x, inShape);
    let moved: tf.TensorInfo;
    if (this.backendName === 'wasm' && merged.join() === '2,1,0') {
      const [s0, s1, s2] = inShape;
      const t2 = this.transpose(this.reshape(flat, [s0, s1 * s2]), [1, 0]);
      moved = this.transpose(this.reshape(t2, [s1, s2, s0]), [1, 0, 2]);
    } else {
      moved = this.transpose(flat, merged);
    }
    return this.reshape(moved, outShape);
  }

  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    if (!this.inJs(x)) return this.run('Slice', { x }, { begin, size });
    return this.fromValues(sliceValues(this.read(x), x.shape, begin, size), size, x.dtype);
  }

  pad(x: tf.TensorInfo, paddings: Pairs): tf.TensorInfo {
    if (!this.inJs(x)) return this.run('PadV2', { x }, { paddings, constantValue: 0 });
    const shape = x.shape.map((n, d) => paddings[d][0] + n + paddings[d][1]);
    return this.fromValues(padValues(this.read(x), x.shape, paddings), shape, x.dtype);
  }

  /** Joins tensors of equal shape except along `axis`. */
  concat(xs: tf.TensorInfo[], axis: number): tf.TensorInfo {
    // tfjs passes Concat's inputs as an array where other kernels get a map.
    return this.run('Concat', xs as unknown as tf.NamedTensorInfoMap, { axis });
  }

  /** 2-D a . b with optional transposes. */
  matMul(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
    if (this.backendName === 'wasm') {
      // wasm's BatchMatMul is 5-10x slower with a transpose flag than a 2-D Transpose plus a plain product.
      const a2 = transposeA ? this.transpose(a, [1, 0]) : a;
      const b2 = transposeB ? this.transpose(b, [1, 0]) : b;
      return this.run('BatchMatMul', { a: a2, b: b2 }, { transposeA: false, transposeB: false });
    }
    return this.run('BatchMatMul', { a, b }, { transposeA, transposeB });
  }

  /** NHWC stride-1 convolution with explicit [top,bottom] / [left,right] zero padding. */
  conv2d(x: tf.TensorInfo, filter: tf.TensorInfo, padH: [number, number], padW: [number, number], dilations: [number, number] = [1, 1]): tf.TensorInfo {
    const pad = [[0, 0], padH, padW, [0, 0]];
    return this.run('Conv2D', { x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations });
  }

  scatterNd(indices: tf.TensorInfo, updates: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('ScatterNd', { indices, updates }, { shape });
  }
}
