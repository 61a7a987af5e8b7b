import * as tf from '@tensorflow/tfjs';
import { DSR, SparseTrainer, initBackend, sparsify, stripMasks } from 'dynaprune';
import { fitProgress, folderHandler, loadCifar10 } from 'dynaprune/node';

await initBackend(); // tfjs-node if installed, else wasm with dynaprune's training kernels, else cpu
// Tensors scaled to [0, 1]; a quick look on 1,000 images (drop the limits for the full 50,000).
const { train, validation } = await loadCifar10({ trainLimit: 1000, validationSplit: 0.1 });

const dense = tf.sequential({
  layers: [
    tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 32, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ],
});
const { model } = await sparsify(dense, { sparsity: 0.9, distribution: 'erk', maskInit: 'random' });
model.compile({
  optimizer: tf.train.adam(1e-3),
  loss: 'sparseCategoricalCrossentropy',
  metrics: ['accuracy'],
});

const epochs = 2;
const batchSize = 32;
const totalSteps = epochs * Math.ceil(train.xs.shape[0] / batchSize);
const trainer = new SparseTrainer(model, new DSR());
await model.fit(train.xs, train.ys, {
  epochs,
  batchSize,
  validationData: [validation.xs, validation.ys],
  callbacks: [trainer.fitCallback({ totalSteps }), fitProgress()], // fitProgress: Keras-like progress
});
console.log(trainer.records.at(-1)); // { step, epoch, globalSparsity, layers: [{ name, size, nnz, sparsity }], H, ... }

// tfmot's strip_pruning: plain conv2d/dense layers whose kernels hold the zeros, for any tfjs tool.
const plain = await stripMasks(model);
await plain.save(folderHandler('plain-model')); // model.json + weights.bin
