// Example: a short Wide ResNet run with DSR at 90% sparsity, with augmentation (the DSR paper's setting, shortened).
//
// Run: npx tsx examples/wrn-dsr.ts [depth] [width] [epochs] [trainLimit]
// The DSR paper trains WRN-28-2 for 200 epochs; on 2 CPU cores WRN-16-2 takes about 20 minutes per epoch.
import { DSR, SparseTrainer, getModel, initBackend, sparsify, train } from '../src/index.js';
import { readDataset } from '../src/node.js';

const arg = (i: number, fallback: number): number => Number(process.argv[2 + i] ?? fallback);
const [depth, width, epochs, trainLimit] = [arg(0, 16), arg(1, 2), arg(2, 1), arg(3, 5000)];
console.log((await initBackend()).description);
const data = await readDataset('cifar10', { trainLimit });
const spec = getModel(`wrn-${depth}-${width}`);
const dense = spec.build({ inputShape: data.inputShape, numClasses: 10, seed: 1 });
// DSR's rule for WRN: the first conv, the 1x1 shortcuts and the classifier stay dense.
const { model, allocation } = await sparsify(dense, {
  sparsity: 0.9,
  maskInit: 'random',
  seed: 1,
  exclude: ({ name }) => spec.keepDense!(name),
});
console.log(
  `${allocation.length} sparse layers, ${allocation.reduce((a, l) => a + l.nnz, 0)} nonzeros`,
);
const trainer = new SparseTrainer(model, new DSR());
const result = await train({
  model,
  train: data.train,
  validation: data.test,
  inputShape: data.inputShape,
  epochs,
  batchSize: 32,
  learningRate: 1e-3,
  learningRateSchedule: 'cosine',
  augmentation: { cropPadding: 4, horizontalFlip: true },
  seed: 1,
  hooks: [trainer],
  callbacks: {
    onEpochEnd: (m) =>
      console.log(
        `epoch ${m.epoch}: test accuracy ${(100 * m.valAcc).toFixed(2)}%, ${m.seconds.toFixed(0)} s`,
      ),
  },
});
console.log(
  `final test accuracy ${(100 * result.final.acc).toFixed(2)}%; ${trainer.records.length} sparsity records`,
);
