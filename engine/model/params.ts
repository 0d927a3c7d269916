import * as tf from '@tensorflow/tfjs-core';
import { Rng, deriveSeed } from '../rng.js';

/** What a parameter belongs to; the reference table counts these groups separately. */
export type ParamRole = 'backbone' | 'head' | 'context' | 'decoder';

export interface Param {
  /** Stable name, identical on every device, used for checkpoints: `m3/context/e/conv1/w`. */
  name: string;
  module: number;
  role: ParamRole;
  /** BN running statistics are state, not trained parameters. */
  trainable: boolean;
  variable: tf.Variable;
}

let storeCounter = 0;

/**
 * Owns every tf.Variable of one network. tfjs registers variables globally by
 * name, so each store prefixes its own id to keep two networks in one process apart.
 */
export class ParamStore {
  readonly params: Param[] = [];
  private readonly byName = new Map<string, Param>();
  private readonly prefix = `net${storeCounter++}`;

  constructor(private readonly seed: number) {}

  private add(name: string, module: number, role: ParamRole, trainable: boolean, value: tf.Tensor): tf.Variable {
    if (this.byName.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const variable = tf.variable(value, trainable, `${this.prefix}/${name}`);
    value.dispose();
    const p: Param = { name, module, role, trainable, variable };
    this.params.push(p);
    this.byName.set(name, p);
    return variable;
  }

  private rng(name: string): Rng {
    return new Rng(deriveSeed(this.seed, name));
  }

  /** He init as in the reference ResNet: N(0, sqrt(2 / (k*k*out))). Shape [k, k, in, out]. */
  convWeight(name: string, module: number, role: ParamRole, k: number, cin: number, cout: number): tf.Variable {
    const std = Math.sqrt(2 / (k * k * cout));
    const values = this.rng(name).normalArray(k * k * cin * cout, std);
    return this.add(name, module, role, true, tf.tensor4d(values, [k, k, cin, cout]));
  }

  /** PyTorch's default bias init for a layer with `fanIn` inputs: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  bias(name: string, module: number, role: ParamRole, size: number, fanIn: number): tf.Variable {
    const values = this.rng(name).uniformArray(size, 1 / Math.sqrt(fanIn));
    return this.add(name, module, role, true, tf.tensor1d(values));
  }

  /** PyTorch's default nn.Linear weight init (kaiming uniform, a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)). */
  linearWeight(name: string, module: number, role: ParamRole, cin: number, cout: number): tf.Variable {
    const values = this.rng(name).uniformArray(cin * cout, 1 / Math.sqrt(cin));
    return this.add(name, module, role, true, tf.tensor2d(values, [cin, cout]));
  }

  constant(name: string, module: number, role: ParamRole, size: number, value: number, trainable: boolean): tf.Variable {
    return this.add(name, module, role, trainable, tf.fill([size], value));
  }

  get(name: string): Param | undefined {
    return this.byName.get(name);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    this.params.length = 0;
    this.byName.clear();
  }
}
