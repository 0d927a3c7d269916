import * as tf from '@tensorflow/tfjs-core';
import { nativeDtype } from '../native-backend.js';
import { attrs, backendOf, input, type KernelArgs, type NativeKernel } from './common.js';

const COMPARISONS = ['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr'];
const ARITHMETIC = ['Add', 'Sub', 'Multiply', 'FloorDiv', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference'];

function binary(op: string): NativeKernel {
  return {
    kernelName: op,
    kernelFunc: (args: KernelArgs) => {
      const a = input(args, 'a');
      const b = input(args, 'b');
      // Result dtypes as tfjs's: comparisons give bool, RealDiv float32, the rest the wider input type.
      const dtype: tf.DataType = COMPARISONS.includes(op) ? 'bool' : op === 'RealDiv' ? 'float32' : tf.upcastType(a.dtype, b.dtype);
      const be = backendOf(args);
      return be.output(be.addon.binary(op, be.tensor(a), be.tensor(b), nativeDtype(dtype)), dtype);
    },
  };
}

/** Unary ops whose result is float32 whatever the input (as in tfjs). */
const FLOAT_RESULT = ['Exp', 'Log', 'Log1p', 'Sqrt', 'Rsqrt', 'Sigmoid', 'Tanh', 'Softplus', 'Reciprocal', 'Elu'];
const BOOL_RESULT = ['IsNan', 'LogicalNot'];

function unary(op: string, params: (args: KernelArgs) => [number, number] = () => [0, 0]): NativeKernel {
  return {
    kernelName: op,
    kernelFunc: (args: KernelArgs) => {
      const x = input(args, 'x');
      const dtype: tf.DataType = BOOL_RESULT.includes(op) ? 'bool' : FLOAT_RESULT.includes(op) ? 'float32' : x.dtype;
      const b = backendOf(args);
      const [p0, p1] = params(args);
      return b.output(b.addon.unary(op, b.tensor(x), nativeDtype(dtype), p0, p1), dtype);
    },
  };
}

function cast(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const { dtype } = attrs<tf.CastAttrs>(args);
  const b = backendOf(args);
  return b.output(b.addon.cast(b.tensor(x), nativeDtype(dtype)), dtype);
}

function addN(args: KernelArgs): tf.TensorInfo {
  const xs = args.inputs as unknown as tf.TensorInfo[];
  const b = backendOf(args);
  return b.output(b.addon.addN(xs.map((t) => b.tensor(t))), xs[0].dtype);
}

function select(args: KernelArgs): tf.TensorInfo {
  const c = input(args, 'condition');
  const t = input(args, 't');
  const e = input(args, 'e');
  const b = backendOf(args);
  const dtype = tf.upcastType(t.dtype, e.dtype);
  return b.output(b.addon.select(b.tensor(c), b.tensor(t), b.tensor(e)), dtype);
}

function fusedBatchNorm(args: KernelArgs): tf.TensorInfo {
  const b = backendOf(args);
  const optional = (name: string): ReturnType<typeof b.tensor> | null => {
    const t = args.inputs[name];
    return t === undefined || t === null ? null : b.tensor(t);
  };
  const { varianceEpsilon } = attrs<tf.FusedBatchNormAttrs>(args);
  const x = input(args, 'x');
  const out = b.addon.fusedBatchNorm(b.tensor(x), b.tensor(input(args, 'mean')), b.tensor(input(args, 'variance')), optional('offset'), optional('scale'), varianceEpsilon);
  return b.output(out, 'float32');
}

function filled(kernelName: string, value: (args: KernelArgs) => number): NativeKernel {
  return {
    kernelName,
    kernelFunc: (args: KernelArgs) => {
      const x = input(args, 'x');
      const b = backendOf(args);
      return b.output(b.addon.fill(x.shape, value(args), nativeDtype(x.dtype)), x.dtype, x.shape);
    },
  };
}

function fill(args: KernelArgs): tf.TensorInfo {
  const { shape, value, dtype } = attrs<tf.FillAttrs>(args);
  const d = dtype ?? 'float32';
  const b = backendOf(args);
  return b.output(b.addon.fill(shape, Number(value), nativeDtype(d)), d, shape);
}

export const elementwiseKernels: NativeKernel[] = [
  ...ARITHMETIC.map(binary),
  binary('RealDiv'),
  ...COMPARISONS.map(binary),
  ...['Neg', 'Abs', 'Exp', 'Log', 'Log1p', 'Sqrt', 'Rsqrt', 'Square', 'Reciprocal', 'Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Softplus', 'Sign', 'Floor', 'Ceil', 'Round', 'IsNan', 'LogicalNot', 'Elu'].map((op) => unary(op)),
  unary('LeakyRelu', (args) => [attrs<tf.LeakyReluAttrs>(args).alpha, 0]),
  unary('Step', (args) => [attrs<tf.StepAttrs>(args).alpha, 0]),
  unary('ClipByValue', (args) => {
    const a = attrs<tf.ClipByValueAttrs>(args);
    return [a.clipValueMin, a.clipValueMax];
  }),
  { kernelName: tf.Cast, kernelFunc: cast },
  { kernelName: tf.AddN, kernelFunc: addN },
  { kernelName: tf.Select, kernelFunc: select },
  { kernelName: tf.FusedBatchNorm, kernelFunc: fusedBatchNorm },
  { kernelName: tf.Fill, kernelFunc: fill },
  filled(tf.ZerosLike, () => 0),
  filled(tf.OnesLike, () => 1),
];
