// The paper CNN's layout with a width multiplier and optional BatchNorm: the dense skeleton of the dynamic model.
import {
  initializers,
  input,
  layers,
  model,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs';
import { fastBatchNormalization } from '../layers/batch-norm.js';
import type { ModelBuildOptions } from './types.js';

export interface PaperCnnWideOptions extends ModelBuildOptions {
  /** Multiplies every layer's width (32, 64, 64 filters; 64 units). 1 is the paper CNN's width. */
  readonly width: number;
  /** BatchNorm after each conv, before its ReLU (the conv then has no bias). */
  readonly batchNorm: boolean;
}

/**
 * Conv(32w)-Pool-Conv(64w)-Pool-Conv(64w)-Flatten-Dense(64w)-Dense(classes, softmax), 'valid' padding
 * like the paper CNN. Layer names match `paper-cnn` (conv1..3, fc1, fc2) so reports line up.
 */
export function buildPaperCnnWide(options: PaperCnnWideOptions): LayersModel {
  const { inputShape, numClasses, seed, width, batchNorm } = options;
  const init = (i: number) => initializers.glorotUniform({ seed: seed * 1000 + i });
  const filters = [32, 64, 64].map((f) => Math.round(f * width));
  const image = input({ shape: [...inputShape], name: 'image' });
  let x: SymbolicTensor = image;
  filters.forEach((f, i) => {
    const n = i + 1;
    x = layers
      .conv2d({
        name: `conv${n}`,
        filters: f,
        kernelSize: 3,
        activation: batchNorm ? 'linear' : 'relu',
        useBias: !batchNorm,
        kernelInitializer: init(n),
      })
      .apply(x) as SymbolicTensor;
    if (batchNorm) {
      x = fastBatchNormalization({
        name: `bn${n}`,
        ...(options.batchNormMomentum !== undefined ? { momentum: options.batchNormMomentum } : {}),
      }).apply(x) as SymbolicTensor;
      x = layers.reLU({ name: `relu${n}` }).apply(x) as SymbolicTensor;
    }
    if (n < 3)
      x = layers.maxPooling2d({ name: `pool${n}`, poolSize: 2 }).apply(x) as SymbolicTensor;
  });
  x = layers.flatten({ name: 'flatten' }).apply(x) as SymbolicTensor;
  x = layers
    .dense({
      name: 'fc1',
      units: Math.round(64 * width),
      activation: 'relu',
      kernelInitializer: init(4),
    })
    .apply(x) as SymbolicTensor;
  x = layers
    .dense({ name: 'fc2', units: numClasses, activation: 'softmax', kernelInitializer: init(5) })
    .apply(x) as SymbolicTensor;
  return model({ inputs: image, outputs: x, name: `paper_cnn_wide_${width}` });
}
