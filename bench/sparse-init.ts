// Accuracy probe: sparse-aware initialization (Evci et al. 2022) against the dense initializer's scale.
//
// What it measures: validation loss and accuracy of the paper CNN at 90% uniform sparsity trained with DSR
// (Adam 1e-3, batch 32, no augmentation: the setting where issue #11 saw training stay at chance), with
// and without scaling each unit to its active fan-in, on the same seeds, masks and data. Validation is
// the last N training images (never the test set: this chooses a default).
//
// Run: npx tsx --conditions=dynaprune-source bench/sparse-init.ts [--train N] [--validation N] [--epochs N] [--seeds 1,5]
// Writes bench/results/sparse-init.json and prints a Markdown table; the last line is a JSON object.
import { DSR, SparseTrainer } from '../src/algorithms/index.js';
import { loadDataset } from '../src/data/registry.js';
import { holdOutValidation } from '../src/data/split.js';
import { initBackend } from '../src/engine/backend.js';
import { getModel } from '../src/models/registry.js';
import { sparsify } from '../src/sparsity/sparsify.js';
import { train } from '../src/train/trainer.js';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const trainImages = Number(arg('train', '2000'));
const validationImages = Number(arg('validation', '1000'));
const epochs = Number(arg('epochs', '2'));
const seeds = arg('seeds', '1,5').split(',').map(Number);
const dataDir = arg('data-dir', '../shared/data/cifar10/cifar-10-binary.tar.gz');

const backend = await initBackend('wasm');
const data = await loadDataset('cifar10', { dataDir });
const split = holdOutValidation(data.train, validationImages, trainImages);
const rows: Record<string, unknown>[] = [];
for (const seed of seeds) {
  for (const sparseInit of [false, true]) {
    const dense = getModel('paper-cnn').build({ inputShape: [32, 32, 3], numClasses: 10, seed });
    const { model } = await sparsify(dense, {
      sparsity: 0.9,
      maskInit: 'random',
      seed,
      sparseInit,
    });
    dense.dispose();
    const result = await train({
      model,
      train: split.train,
      validation: split.validation,
      inputShape: [32, 32, 3],
      epochs,
      batchSize: 32,
      learningRate: 1e-3,
      seed,
      hooks: [new SparseTrainer(model, new DSR())],
    });
    for (const e of result.epochs) {
      rows.push({
        seed,
        init: sparseInit ? 'sparse-aware' : 'dense scale',
        epoch: e.epoch,
        valLoss: e.valLoss,
        valAcc: e.valAcc,
      });
    }
    model.dispose();
  }
}
console.log(
  markdownTable(
    [
      { title: 'seed', align: 'right' },
      { title: 'init', align: 'left' },
      'epoch',
      'validation loss',
      'validation accuracy',
    ],
    rows.map((r) => [
      String(r['seed']),
      String(r['init']),
      String(r['epoch']),
      (r['valLoss'] as number).toFixed(4),
      `${(100 * (r['valAcc'] as number)).toFixed(2)}%`,
    ]),
  ),
);
const json = {
  bench: 'sparse-init',
  backend: backend.backend,
  machine: describeMachine(),
  trainImages,
  validationImages,
  epochs,
  rows,
};
writeBenchResult('sparse-init', json);
console.log(JSON.stringify(json));
