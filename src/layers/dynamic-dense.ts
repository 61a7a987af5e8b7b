// DynamicDense: tf.layers.dense whose kernel is multiplied by a binary mask with a settable sparsity.
import type { serialization } from '@tensorflow/tfjs';
import { add, fused, initializers, reshape, tidy, type Tensor } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { sparseConv } from '../engine/sparse-ops.js';

import {
  applyActivation,
  applyUnfusedActivation,
  checkActivation,
  fusedActivation,
  isFused,
  type ActivationName,
} from './activations.js';
import { MaskedLayer, type SparsityArgs } from './masked-layer.js';

/** A tfjs weight initializer (tf.initializers.*), which tfjs's index exports only as a namespace. */
type Initializer = ReturnType<typeof initializers.zeros>;

/** The arguments of `tf.layers.dense` that DynamicDense supports, plus the sparsity arguments. */
export interface DynamicDenseLayerArgs extends SparsityArgs {
  /** Number of output units. */
  units: number;
  /** 'linear' (default), 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh' or 'softmax'. */
  activation?: string;
  /** Whether to add a bias (default true). */
  useBias?: boolean;
  /** Kernel initializer (default glorotUniform seeded by `seed`). */
  kernelInitializer?: Initializer;
  /** Bias initializer (default zeros). */
  biasInitializer?: Initializer;
  /** Required on the first layer of a Sequential model. */
  inputShape?: number[];
  /** Layer name. */
  name?: string;
  /** Whether the kernel and bias train (default true; the mask never does). */
  trainable?: boolean;
}

/**
 * A fully connected layer whose effective kernel [in, units] is `kernel * mask`. At sparsity 0 it computes
 * exactly what `tf.layers.dense` computes.
 */
export class DynamicDense extends MaskedLayer {
  static readonly className = 'DynamicDense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private bias: ReturnType<MaskedLayer['addWeight']> | null = null;

  constructor(args: DynamicDenseLayerArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units <= 0) {
      throw new InvalidArgumentError(
        `units must be a positive integer, got ${String(args.units)}.`,
      );
    }
    this.units = args.units;
    this.activation = checkActivation(args.activation);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer =
      args.kernelInitializer ?? initializers.glorotUniform({ seed: this.seed });
    this.biasInitializer = args.biasInitializer ?? initializers.zeros();
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const features = shape[shape.length - 1];
    if (typeof features !== 'number') {
      throw new InvalidArgumentError(
        `Layer ${this.name}: the input's last axis must be known, got ${JSON.stringify(shape)}.`,
      );
    }
    this.kernel = this.addWeight(
      'kernel',
      [features, this.units],
      'float32',
      this.kernelInitializer,
    );
    if (this.useBias)
      this.bias = this.addWeight('bias', [this.units], 'float32', this.biasInitializer);
    this.buildMask([features, this.units]);
    this.built = true;
  }

  override computeOutputShape(inputShape: (number | null)[]): (number | null)[] {
    return [...inputShape.slice(0, -1), this.units];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor;
      const flat = x.rank > 2 ? reshape(x, [-1, x.shape[x.rank - 1]!]) : x;
      const layout = this.choosePath('dense');
      if (layout !== undefined) {
        // A dense layer is the 1×1 convolution of a 1×1 image, with the batch as the pixels.
        const [n, features] = flat.shape as [number, number];
        const one = { h: 1, w: 1, oh: 1, ow: 1, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0 };
        let y = sparseConv(flat, this.kernelVariable.read(), this.bias?.read(), {
          layout,
          geometry: { n, ci: features, co: this.units, ...one },
          relu: this.activation === 'relu',
          inShape: flat.shape,
          outShape: [n, this.units],
        });
        if (this.activation !== 'relu') y = applyActivation(y, this.activation);
        return x.rank > 2 ? reshape(y, [...x.shape.slice(0, -1), this.units]) : y;
      }
      // The same ops as tfjs-layers' Dense: fused matMul for fusable activations, else matMul, bias add,
      // activation; so a dense mask reproduces it bit for bit.
      let y: Tensor;
      if (isFused(this.activation)) {
        y = fused.matMul({
          a: flat as never,
          b: this.effectiveKernel() as never,
          ...(this.bias ? { bias: this.bias.read() } : {}),
          activation: fusedActivation(this.activation),
        }) as Tensor;
      } else {
        y = fused.matMul({ a: flat as never, b: this.effectiveKernel() as never }) as Tensor;
        if (this.bias) y = add(y, this.bias.read());
      }
      if (x.rank > 2) y = reshape(y, [...x.shape.slice(0, -1), this.units]);
      return applyUnfusedActivation(y, this.activation);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      ...this.sparsityConfig(),
    };
  }
}
