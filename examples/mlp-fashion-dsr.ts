// Example: LeNet-300-100 trained sparse with DSR on Fashion-MNIST, next to the same MLP trained dense.
//
// Run: npx tsx examples/mlp-fashion-dsr.ts [epochs]
// Needs Fashion-MNIST (Debian: apt-get install dataset-fashion-mnist, or DYNAPRUNE_DATA=<folder>).
import { DSR, SparseTrainer, getModel, initBackend, sparsify, train } from '../src/index.js';
import { readDataset } from '../src/node.js';

const epochs = Number(process.argv[2] ?? 5);
const backend = await initBackend();
console.log(backend.description);
const data = await readDataset('fashion-mnist');
const build = () => getModel('mlp').build({ inputShape: data.inputShape, numClasses: 10, seed: 1 });

for (const sparse of [false, true]) {
  const dense = build();
  const model = sparse
    ? (await sparsify(dense, { sparsity: 0.9, maskInit: 'random', seed: 1 })).model
    : dense;
  const trainer = sparse ? new SparseTrainer(model, new DSR()) : undefined;
  const result = await train({
    model,
    train: data.train,
    validation: data.test,
    inputShape: data.inputShape,
    epochs,
    batchSize: 32,
    learningRate: 1e-3,
    seed: 1,
    ...(trainer ? { hooks: [trainer] } : {}),
    callbacks: {
      onEpochEnd: (m) =>
        console.log(`  epoch ${m.epoch}: test accuracy ${(100 * m.valAcc).toFixed(2)}%`),
    },
  });
  const last = trainer?.records.at(-1);
  console.log(
    `${sparse ? 'DSR, 90% sparse' : 'dense'}: test accuracy ${(100 * result.final.acc).toFixed(2)}%` +
      (last
        ? `, ${last.layers.map((l) => `${l.name} ${(100 * l.sparsity).toFixed(1)}%`).join(', ')}`
        : ''),
  );
}
