// DynamicDense: tf.layers.dense whose kernel is multiplied by a binary mask with a settable sparsity.
import type { serialization } from '@tensorflow/tfjs';
import { add, fused, reshape, tidy, type Tensor } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { sparseConv } from '../engine/sparse-ops.js';

import {
  applyActivation,
  applyUnfusedActivation,
  fusedActivation,
  isFused,
} from './activations.js';
import { checkPositiveInteger, MaskedLayer, type MaskedLayerArgs } from './masked-layer.js';

/** The arguments of `tf.layers.dense` that DynamicDense supports, plus the sparsity arguments. */
export interface DynamicDenseLayerArgs extends MaskedLayerArgs {
  /** Number of output units. */
  units: number;
}

/**
 * A fully connected layer whose effective kernel [in, units] is `kernel * mask`. At sparsity 0 it computes
 * exactly what `tf.layers.dense` computes.
 */
export class DynamicDense extends MaskedLayer {
  static readonly className = 'DynamicDense';
  readonly units: number;

  constructor(args: DynamicDenseLayerArgs) {
    super(args);
    this.units = checkPositiveInteger(args.units, 'units');
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const features = shape[shape.length - 1];
    if (typeof features !== 'number') {
      throw new InvalidArgumentError(
        `Layer ${this.name}: the input's last axis must be known, got ${JSON.stringify(shape)}.`,
      );
    }
    this.buildWeights([features, this.units]);
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
      ...this.sharedConfig(),
    };
  }
}
