// The paper's baseline: the Keras CIFAR-10 tutorial CNN (Conv-Pool-Conv-Pool-Conv-Dense-Dense, 122,570 parameters).
import { initializers, layers, sequential, type Sequential } from '@tensorflow/tfjs';
import type { ModelBuildOptions } from './types.js';

/**
 * Conv2D(32, 3×3, relu) → MaxPool(2) → Conv2D(64, 3×3, relu) → MaxPool(2) → Conv2D(64, 3×3, relu) →
 * Flatten → Dense(64, relu) → Dense(classes, softmax), with Keras's defaults: glorot-uniform kernels,
 * zero biases, 'valid' padding. Each layer's initializer gets its own seed derived from `seed`.
 */
export function buildPaperCnn(options: ModelBuildOptions): Sequential {
  const { inputShape, numClasses, seed } = options;
  const kernelInitializer = (i: number) => initializers.glorotUniform({ seed: seed * 1000 + i });
  return sequential({
    name: 'paper_cnn',
    layers: [
      layers.conv2d({
        name: 'conv1',
        inputShape: [...inputShape],
        filters: 32,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: kernelInitializer(1),
      }),
      layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      layers.conv2d({
        name: 'conv2',
        filters: 64,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: kernelInitializer(2),
      }),
      layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      layers.conv2d({
        name: 'conv3',
        filters: 64,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: kernelInitializer(3),
      }),
      layers.flatten({ name: 'flatten' }),
      layers.dense({
        name: 'fc1',
        units: 64,
        activation: 'relu',
        kernelInitializer: kernelInitializer(4),
      }),
      layers.dense({
        name: 'fc2',
        units: numClasses,
        activation: 'softmax',
        kernelInitializer: kernelInitializer(5),
      }),
    ],
  });
}
