import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon, NativeDtype, NativeTensor } from './addon.js';

interface Entry {
  tensor: NativeTensor;
  dtype: NativeDtype;
  refCount: number;
}

/** tfjs's memory() plus what the native side holds right now. */
export interface NativeMemoryInfo {
  unreliable: boolean;
  /** Bytes of native tensor storage referenced by live tensors (views counted once). */
  numBytesInNative: number;
  numNativeTensors: number;
  /** Freed buffers the native allocator keeps for reuse (bounded; not counted above). */
  numBytesCachedInNative: number;
}

export function nativeDtype(dtype: tf.DataType): NativeDtype {
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'bool') return dtype;
  throw new Error(`dtype ${dtype} is not supported by the native backend`);
}

/** The values as the typed array the native side copies for `dtype`. */
function asTyped(values: tf.BackendValues, dtype: NativeDtype): ArrayBufferView {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>);
}

/**
 * A tfjs KernelBackend whose tensor data lives in native (ATen) tensors: one native
 * handle per dataId, freed in disposeData when tfjs's reference count reaches zero.
 * Kernels (./kernels) call the addon and wrap its results with `output`.
 */
export class NativeBackend extends tf.KernelBackend {
  private readonly data: tf.DataStorage<Entry>;

  constructor(readonly addon: NativeAddon) {
    super();
    this.data = new tf.DataStorage<Entry>(this, tf.engine());
  }

  /** The native tensor of a kernel input. */
  tensor(t: tf.TensorInfo): NativeTensor {
    return this.data.get(t.dataId).tensor;
  }

  /** Registers a native result under a new dataId (the kernel's output). */
  output(tensor: NativeTensor, dtype: tf.DataType, shape?: number[]): tf.TensorInfo {
    const dataId = {};
    this.data.set(dataId, { tensor, dtype: nativeDtype(dtype), refCount: 1 });
    return { dataId, shape: shape ?? this.addon.shape(tensor), dtype };
  }

  override write(values: tf.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const d = nativeDtype(dtype);
    const dataId = {};
    this.data.set(dataId, { tensor: this.addon.write(asTyped(values, d), shape, d), dtype: d, refCount: 1 });
    return dataId;
  }

  override move(dataId: tf.DataId, values: tf.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    const d = nativeDtype(dtype);
    this.data.set(dataId, { tensor: this.addon.write(asTyped(values, d), shape, d), dtype: d, refCount });
  }

  override refCount(dataId: tf.DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: tf.DataId): void {
    this.data.get(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  // Reads are synchronous copies out of native memory; the promise only satisfies tfjs's interface.
  override read(dataId: tf.DataId): Promise<tf.BackendValues> {
    return Promise.resolve(this.readSync(dataId));
  }

  override readSync(dataId: tf.DataId): tf.BackendValues {
    const { tensor, dtype } = this.data.get(dataId);
    const buf = this.addon.read(tensor);
    if (dtype === 'float32') return new Float32Array(buf);
    if (dtype === 'int32') return new Int32Array(buf);
    return new Uint8Array(buf);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.addon.dispose(entry.tensor);
    this.data.delete(dataId);
    return true;
  }

  override memory(): NativeMemoryInfo {
    const m = this.addon.memory();
    return { unreliable: false, numBytesInNative: m.bytes, numNativeTensors: m.handles, numBytesCachedInNative: m.cached };
  }

  override time(f: () => void): Promise<tf.BackendTimingInfo> {
    const start = tf.util.now();
    f();
    return Promise.resolve({ kernelMs: tf.util.now() - start });
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    // tfjs disposes every tensor before a backend; nothing of ours is left to free.
  }
}
