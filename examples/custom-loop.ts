// Example: dynaprune's algorithms in your own training loop, with your own data and loss.
//
// Run: npx tsx examples/custom-loop.ts
import * as tf from '@tensorflow/tfjs';
import {
  DynamicConv2D,
  DynamicDense,
  Random,
  RigL,
  SparseTrainer,
  initBackend,
  sparseCategoricalCrossentropy,
} from '../src/index.js';

console.log((await initBackend()).description);
const model = tf.sequential({
  layers: [
    new DynamicConv2D({
      inputShape: [16, 16, 3],
      filters: 16,
      kernelSize: 3,
      activation: 'relu',
      sparsity: 0.8,
      seed: 1,
    }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    new DynamicDense({ units: 4, activation: 'softmax', sparsity: 0.8, seed: 2 }),
  ],
});
const optimizer = tf.train.adam(1e-3);
// RigL grows where the gradient is largest; it updates every 100 steps until 75% of training.
const trainer = new SparseTrainer(model, new RigL({ period: 20 }), {
  optimizer,
  rng: new Random(42),
});
const totalSteps = 200;
const rng = new Random(7);
for (let step = 1; step <= totalSteps; step++) {
  // A toy task: the class is the brightest quarter of the image.
  const labels = Array.from({ length: 32 }, () => rng.nextInt(4));
  const { x, y } = tf.tidy(() => {
    const images = tf.buffer([32, 16, 16, 3]);
    labels.forEach((c, i) => {
      for (let h = 0; h < 8; h++)
        for (let w = 0; w < 8; w++) images.set(1, i, (c >> 1) * 8 + h, (c & 1) * 8 + w, 0);
    });
    return {
      x: images.toTensor().add(tf.randomNormal([32, 16, 16, 3], 0, 0.3)),
      y: tf.tensor1d(labels, 'int32'),
    };
  });
  const loss = optimizer.minimize(
    () => sparseCategoricalCrossentropy(model.apply(x, { training: true }) as tf.Tensor, y),
    true,
  )!;
  const record = trainer.step({ step, totalSteps, batch: { x, y } });
  if (record)
    console.log(
      `step ${step}: loss ${loss.dataSync()[0]!.toFixed(3)}, masks updated, global sparsity ${record.globalSparsity.toFixed(3)}`,
    );
  tf.dispose([x, y, loss]);
}
