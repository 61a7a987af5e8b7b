// Wide ResNet WRN-D-K (Zagoruyko & Komodakis 2016, arXiv 1605.07146), pre-activation blocks with BatchNorm.
import {
  initializers,
  input,
  layers,
  model,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { fastBatchNormalization } from '../layers/batch-norm.js';
import type { ModelBuildOptions } from './types.js';

export interface WideResNetOptions extends ModelBuildOptions {
  /** Total depth D = 6n + 4, n blocks per group. */
  readonly depth: number;
  /** Width factor K: the groups have 16K, 32K and 64K channels. */
  readonly widthFactor: number;
}

/** Layers DSR keeps dense in a WRN: the first conv, the 1×1 shortcuts and the classifier. */
export function isWrnDenseLayer(name: string): boolean {
  return name === 'conv0' || name.endsWith('_shortcut') || name === 'fc';
}

/**
 * conv3×3(16) → 3 groups of n pre-activation basic blocks (BN-ReLU-conv3×3-BN-ReLU-conv3×3, stride 2 at
 * the start of groups 2 and 3, a 1×1 conv shortcut where the shape changes) → BN-ReLU → global average
 * pool → dense(classes, softmax). Convs have no bias (BatchNorm follows), He-normal initialization as in
 * the paper's code.
 */
export function buildWideResNet(options: WideResNetOptions): LayersModel {
  const { inputShape, numClasses, seed, depth, widthFactor } = options;
  if ((depth - 4) % 6 !== 0 || depth < 10) {
    throw new InvalidArgumentError(
      `WRN depth must be 6n + 4 with n >= 1 (10, 16, 22, 28...), got ${depth}.`,
    );
  }
  if (!Number.isInteger(widthFactor) || widthFactor < 1) {
    throw new InvalidArgumentError(
      `WRN width factor must be a positive integer, got ${widthFactor}.`,
    );
  }
  const blocks = (depth - 4) / 6;
  let seedIndex = 0;
  const conv = (name: string, filters: number, kernelSize: number, strides: number) =>
    layers.conv2d({
      name,
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: initializers.heNormal({ seed: seed * 1000 + ++seedIndex }),
    });
  const bnRelu = (name: string, x: SymbolicTensor): SymbolicTensor => {
    const y = fastBatchNormalization({
      name: `${name}_bn`,
      ...(options.batchNormMomentum !== undefined ? { momentum: options.batchNormMomentum } : {}),
    }).apply(x) as SymbolicTensor;
    return layers.reLU({ name: `${name}_relu` }).apply(y) as SymbolicTensor;
  };

  const image = input({ shape: [...inputShape], name: 'image' });
  let x = conv('conv0', 16, 3, 1).apply(image) as SymbolicTensor;
  let channels = 16;
  [16, 32, 64].forEach((base, g) => {
    const width = base * widthFactor;
    for (let b = 0; b < blocks; b++) {
      const name = `g${g + 1}b${b + 1}`;
      const stride = b === 0 && g > 0 ? 2 : 1;
      const pre = bnRelu(`${name}_pre`, x);
      let y = conv(`${name}_conv1`, width, 3, stride).apply(pre) as SymbolicTensor;
      y = bnRelu(`${name}_mid`, y);
      y = conv(`${name}_conv2`, width, 3, 1).apply(y) as SymbolicTensor;
      const shortcut =
        channels === width && stride === 1
          ? x
          : (conv(`${name}_shortcut`, width, 1, stride).apply(pre) as SymbolicTensor);
      x = layers.add({ name: `${name}_add` }).apply([shortcut, y]) as SymbolicTensor;
      channels = width;
    }
  });
  x = bnRelu('final', x);
  x = layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as SymbolicTensor;
  x = layers
    .dense({
      name: 'fc',
      units: numClasses,
      activation: 'softmax',
      kernelInitializer: initializers.glorotUniform({ seed: seed * 1000 + ++seedIndex }),
    })
    .apply(x) as SymbolicTensor;
  return model({ inputs: image, outputs: x, name: `wrn_${depth}_${widthFactor}` });
}
