// DynamicConv2D: tf.layers.conv2d whose kernel is multiplied by a binary mask with a settable sparsity.
import type { serialization } from '@tensorflow/tfjs';
import { backend_util, conv2d, fused, tidy, type Tensor } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { sparseConv } from '../engine/sparse-ops.js';
import type { SparseLayout } from '../engine/sparse-layout.js';

import { applyActivation, applyUnfusedActivation, fusedActivation } from './activations.js';
import { checkPositiveInteger, MaskedLayer, type MaskedLayerArgs } from './masked-layer.js';

type Pair = [number, number];

/** The arguments of `tf.layers.conv2d` that DynamicConv2D supports, plus the sparsity arguments. */
export interface DynamicConv2DLayerArgs extends MaskedLayerArgs {
  /** Number of output channels. */
  filters: number;
  /** Kernel height and width (one number for a square kernel). */
  kernelSize: number | Pair;
  /** Strides (default 1). */
  strides?: number | Pair;
  /** 'valid' (default) or 'same', as in Keras. */
  padding?: 'valid' | 'same';
  /** Only 'channelsLast' (NHWC), the layout of every dynaprune model. */
  dataFormat?: 'channelsLast';
  /** Dilation (default 1). */
  dilationRate?: number | Pair;
}

const pair = (v: number | Pair | undefined, fallback: number, what: string): Pair => {
  const p: Pair = v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x > 0)) {
    throw new InvalidArgumentError(
      `${what} must be a positive integer or a pair of them, got ${JSON.stringify(v)}.`,
    );
  }
  return p;
};

/**
 * A 2D convolution (NHWC) whose effective kernel is `kernel * mask`. Construct it with the arguments of
 * `tf.layers.conv2d` plus `sparsity` and `maskInit`; change the sparsity any time with
 * {@link MaskedLayer.setSparsity}. At sparsity 0 it computes exactly what `tf.layers.conv2d` computes.
 */
export class DynamicConv2D extends MaskedLayer {
  static readonly className = 'DynamicConv2D';
  readonly filters: number;
  readonly kernelShape: Pair;
  readonly strides: Pair;
  readonly padding: 'valid' | 'same';
  readonly dilationRate: Pair;

  constructor(args: DynamicConv2DLayerArgs) {
    super(args);
    this.filters = checkPositiveInteger(args.filters, 'filters');
    if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') {
      throw new InvalidArgumentError('DynamicConv2D supports dataFormat "channelsLast" only.');
    }
    const padding = args.padding ?? 'valid';
    if (padding !== 'valid' && padding !== 'same') {
      throw new InvalidArgumentError(
        `padding must be "valid" or "same", got "${String(padding)}".`,
      );
    }
    this.kernelShape = pair(args.kernelSize, 1, 'kernelSize');
    this.strides = pair(args.strides, 1, 'strides');
    this.padding = padding;
    this.dilationRate = pair(args.dilationRate, 1, 'dilationRate');
  }

  override build(inputShape: (number | null)[] | (number | null)[][]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const channels = shape[shape.length - 1];
    if (typeof channels !== 'number') {
      throw new InvalidArgumentError(
        `Layer ${this.name}: the input's channel axis must be known, got ${JSON.stringify(shape)}.`,
      );
    }
    const kernelShape = [this.kernelShape[0], this.kernelShape[1], channels, this.filters];
    this.buildWeights(kernelShape);
  }

  override computeOutputShape(inputShape: (number | null)[]): (number | null)[] {
    const [batch, h, w] = inputShape;
    const out = (size: number | null, k: number, s: number, d: number): number | null => {
      if (size === null) return null;
      const effective = (k - 1) * d + 1;
      return this.padding === 'same' ? Math.ceil(size / s) : Math.floor((size - effective) / s) + 1;
    };
    return [
      batch ?? null,
      out(h ?? null, this.kernelShape[0], this.strides[0], this.dilationRate[0]),
      out(w ?? null, this.kernelShape[1], this.strides[1], this.dilationRate[1]),
      this.filters,
    ];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor;
      const layout = this.choosePath(
        'conv',
        this.dilationRate[0] === 1 && this.dilationRate[1] === 1,
      );
      if (layout !== undefined) return this.callSparse(x, layout);
      const activation = fusedActivation(this.activation);
      if (!this.bias && activation === 'linear') {
        // The plain op (the same kernel as the fused op without bias and activation, so the same bits):
        // its gradient is computed per input on demand, where the fused op's custom gradient always
        // computes the input's, even for a first layer whose input is the data (paper-cnn-wide's conv1:
        // 3% of a dense step).
        const y = conv2d(
          x as never,
          this.effectiveKernel() as never,
          this.strides,
          this.padding,
          'NHWC',
          this.dilationRate,
        );
        return applyUnfusedActivation(y, this.activation);
      }
      // The same fused op tfjs-layers' Conv2D uses, so a dense mask reproduces it bit for bit.
      const y = fused.conv2d({
        x: x as never,
        filter: this.effectiveKernel() as never,
        strides: this.strides,
        pad: this.padding,
        dataFormat: 'NHWC',
        dilations: this.dilationRate,
        ...(this.bias ? { bias: this.bias.read() } : {}),
        activation,
      });
      return applyUnfusedActivation(y, this.activation);
    });
  }

  /** The sparse path: dynaprune's kernels on the active weights only, ReLU fused. */
  private callSparse(x: Tensor, layout: SparseLayout): Tensor {
    const [n, h, w, ci] = x.shape as [number, number, number, number];
    const [kh, kw] = this.kernelShape;
    const info = backend_util.computeConv2DInfo(
      [n, h, w, ci],
      [kh, kw, ci, this.filters],
      this.strides,
      1,
      this.padding,
    );
    const geometry = {
      n,
      h,
      w,
      ci,
      oh: info.outHeight,
      ow: info.outWidth,
      co: this.filters,
      kh,
      kw,
      sh: this.strides[0],
      sw: this.strides[1],
      pt: info.padInfo.top,
      pl: info.padInfo.left,
    };
    const y = sparseConv(x, this.kernelVariable.read(), this.bias?.read(), {
      layout,
      geometry,
      relu: this.activation === 'relu',
      inShape: x.shape,
      outShape: [n, info.outHeight, info.outWidth, this.filters],
    });
    return this.activation === 'relu' ? y : applyActivation(y, this.activation);
  }

  override getConfig(): serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelShape,
      strides: this.strides,
      padding: this.padding,
      dataFormat: 'channelsLast',
      dilationRate: this.dilationRate,
      ...this.sharedConfig(),
    };
  }
}
