// A small dynamic model, a batch, and a training step, shared by the algorithm tests.
import * as tf from '@tensorflow/tfjs';
import { sparsify } from '../../src/sparsity/sparsify.js';
import type { DistributionName } from '../../src/sparsity/distributions.js';
import { sparseCategoricalCrossentropy } from '../../src/train/loss.js';

export function denseModel(seed = 1): tf.LayersModel {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 10 + i });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        name: 'conv',
        inputShape: [8, 8, 3],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ name: 'pool', poolSize: 2 }),
      tf.layers.conv2d({
        name: 'conv_b',
        filters: 12,
        kernelSize: 2,
        activation: 'relu',
        kernelInitializer: init(2),
      }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ name: 'fc', units: 16, activation: 'relu', kernelInitializer: init(3) }),
      tf.layers.dense({ name: 'out', units: 4, activation: 'softmax', kernelInitializer: init(4) }),
    ],
  });
}

export async function sparseModel(
  sparsity: number,
  seed = 1,
  distribution: DistributionName = 'uniform',
): Promise<tf.LayersModel> {
  return (await sparsify(denseModel(seed), { sparsity, distribution, maskInit: 'random', seed }))
    .model;
}

export function batch(seed: number): { x: tf.Tensor; y: tf.Tensor } {
  return {
    x: tf.randomNormal([16, 8, 8, 3], 0, 1, 'float32', seed),
    y: tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => (i + seed) % 4),
      'int32',
    ),
  };
}

export function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  b: { x: tf.Tensor; y: tf.Tensor },
): void {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  optimizer.minimize(
    () => sparseCategoricalCrossentropy(model.apply(b.x, { training: true }) as tf.Tensor, b.y),
    false,
    variables,
  );
}
