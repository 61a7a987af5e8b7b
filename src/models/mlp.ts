// A multilayer perceptron of dense layers; LeNet-300-100 by default (the DSR paper's MNIST network).
import { initializers, layers, sequential, type Sequential } from '@tensorflow/tfjs';
import type { ModelBuildOptions } from './types.js';

export interface MlpOptions extends ModelBuildOptions {
  /** Hidden layer widths; [300, 100] is LeNet-300-100. */
  readonly hidden: readonly number[];
}

export function buildMlp(options: MlpOptions): Sequential {
  const { inputShape, numClasses, seed, hidden } = options;
  const init = (i: number) => initializers.glorotUniform({ seed: seed * 1000 + i });
  return sequential({
    name: `mlp_${hidden.join('_')}`,
    layers: [
      layers.flatten({ name: 'flatten', inputShape: [...inputShape] }),
      ...hidden.map((units, i) =>
        layers.dense({
          name: `fc${i + 1}`,
          units,
          activation: 'relu',
          kernelInitializer: init(i + 1),
        }),
      ),
      layers.dense({
        name: `fc${hidden.length + 1}`,
        units: numClasses,
        activation: 'softmax',
        kernelInitializer: init(hidden.length + 1),
      }),
    ],
  });
}
