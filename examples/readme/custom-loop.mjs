import * as tf from '@tensorflow/tfjs';
import {
  DynamicConv2D,
  DynamicDense,
  RigL,
  Random,
  SparseTrainer,
  initBackend,
  sparseCategoricalCrossentropy,
} from 'dynaprune';
import { loadCifar10 } from 'dynaprune/node';

await initBackend(); // without it, tfjs trains on its slow cpu backend
const { train } = await loadCifar10({ trainLimit: 1000 });
const model = tf.sequential({
  layers: [
    new DynamicConv2D({
      inputShape: [32, 32, 3],
      filters: 32,
      kernelSize: 3,
      activation: 'relu',
      sparsity: 0.8,
    }),
    tf.layers.flatten(),
    new DynamicDense({ units: 10, activation: 'softmax', sparsity: 0.8 }),
  ],
});
const optimizer = tf.train.adam(1e-3);
const trainer = new SparseTrainer(model, new RigL(), { optimizer, rng: new Random(42) });
const batchSize = 32;
const totalSteps = Math.floor(train.xs.shape[0] / batchSize);
for (let step = 1; step <= totalSteps; step++) {
  const x = train.xs.slice((step - 1) * batchSize, batchSize);
  const y = train.ys.slice((step - 1) * batchSize, batchSize);
  optimizer.minimize(() => sparseCategoricalCrossentropy(model.apply(x, { training: true }), y));
  trainer.step({ step, totalSteps, batch: { x, y } }); // updates masks when RigL's schedule says so
  tf.dispose([x, y]); // the batch tensors are yours to free
}
console.log(trainer.records.at(-1));
