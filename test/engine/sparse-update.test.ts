// The optimizers update sparse-path kernels at their active positions only, with the same results as a full sweep.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { FusedAdamOptimizer } from '../../src/engine/fused-adam.js';
import { FusedMomentumOptimizer } from '../../src/engine/fused-momentum.js';
import { sparseLayoutOf, type SparseUpdateOptions } from '../../src/engine/sparse-update.js';
import { DynamicConv2D, DynamicDense, maskedLayers } from '../../src/layers/index.js';
import { resetMomentsOnMaskWrites } from '../../src/train/optimizer-state.js';
import type { ImageSplit } from '../../src/data/types.js';
import { train } from '../../src/train/trainer.js';
import { sparseCategoricalCrossentropy } from '../../src/train/loss.js';

function sparseCnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      new DynamicConv2D({
        inputShape: [8, 8, 3],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        sparsity: 0.7,
        seed: 1,
      }),
      tf.layers.flatten(),
      new DynamicDense({ units: 4, activation: 'softmax', sparsity: 0.7, seed: 2 }),
    ],
  });
}

type Make = (options: SparseUpdateOptions) => tf.Optimizer;
const decayOf = (model: tf.LayersModel) => ({
  weightDecay: 0.01,
  decayed: new Set(maskedLayers(model).map((l) => (l.kernelVariable.read() as tf.Variable).name)),
});

/**
 * Trains `model` on the sparse path for 6 steps with the optimizer `make` builds, rewiring one layer
 * after the third step (so moments are reset and the layout changes). Returns every weight.
 */
function trainSparse(model: tf.LayersModel, make: Make, activeOnly: boolean): Float32Array[] {
  for (const l of maskedLayers(model)) l.kernelMode = 'sparse';
  const optimizer = make({ activeOnly, sparseDecay: decayOf(model) });
  const release = resetMomentsOnMaskWrites(optimizer);
  const x = tf.randomUniform([5, 8, 8, 3], 0, 1, 'float32', 7);
  const y = tf.tensor1d([0, 1, 2, 3, 1], 'int32');
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  for (let step = 0; step < 6; step++) {
    optimizer.minimize(
      () => sparseCategoricalCrossentropy(model.apply(x, { training: true }) as tf.Tensor, y),
      false,
      variables,
    );
    if (step === 2) maskedLayers(model)[1]!.setSparsity(0.6);
  }
  release();
  tf.dispose([x, y]);
  optimizer.dispose();
  return model.getWeights().map((w) => Float32Array.from(w.dataSync()));
}

const optimizers: [string, Make][] = [
  ['Adam', (o) => new FusedAdamOptimizer(0.05, 0.9, 0.999, 1e-7, o)],
  ['SGD with momentum', (o) => new FusedMomentumOptimizer(0.1, 0.9, false, o)],
];

describe('optimizer steps of sparse-path kernels', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it.each(optimizers)(
    '%s: active positions only gives bit for bit the weights of a full sweep, decay and rewiring included',
    (_, make) => {
      const a = sparseCnn();
      const b = sparseCnn();
      b.setWeights(a.getWeights());
      const active = trainSparse(a, make, true);
      const full = trainSparse(b, make, false);
      expect(active).toEqual(full);
      // It trained: the kernels moved from where they started.
      expect(active[0]).not.toEqual(Float32Array.from(sparseCnn().getWeights()[0]!.dataSync()));
    },
  );

  it.each(optimizers)(
    '%s: masked kernel entries and their slots are not touched at all',
    (_, make) => {
      const model = sparseCnn();
      const layer = maskedLayers(model)[0]!;
      layer.kernelMode = 'sparse';
      const optimizer = make({});
      const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 3);
      const y = tf.tensor1d([0, 1, 2, 3], 'int32');
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const step = () =>
        optimizer.minimize(
          () => sparseCategoricalCrossentropy(model.apply(x, { training: true }) as tf.Tensor, y),
          false,
          variables,
        );
      step();
      expect(sparseLayoutOf(layer.kernelVariable.read() as tf.Variable)).toBeDefined();
      // Plant a value in every slot of the kernel at one masked position: a full sweep would decay it.
      const masked = layer.getMask().indexOf(0);
      const kernelName = (layer.kernelVariable.read() as tf.Variable).name;
      const o = optimizer as unknown as Record<
        string,
        { originalName: string; variable: tf.Variable }[] | undefined
      >;
      const own = ['accumulatedFirstMoment', 'accumulatedSecondMoment', 'accumulations']
        .flatMap((k) => o[k] ?? [])
        .filter((s) => s.originalName.startsWith(`${kernelName}/`));
      expect(own.length).toBeGreaterThan(0);
      for (const s of own) {
        const v = Float32Array.from(s.variable.dataSync());
        v[masked] = 0.5;
        tf.tidy(() => s.variable.assign(tf.tensor(v, s.variable.shape)));
      }
      step();
      for (const s of own) expect(s.variable.dataSync()[masked]).toBe(0.5);
      expect(layer.getKernel()[masked]).toBe(0);
      tf.dispose([x, y]);
    },
  );

  it('a clone of the weights taken before a step keeps its values', () => {
    const model = sparseCnn();
    for (const l of maskedLayers(model)) l.kernelMode = 'sparse';
    const optimizer = new FusedAdamOptimizer(0.05, 0.9, 0.999, 1e-7);
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 3);
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = () =>
      optimizer.minimize(
        () => sparseCategoricalCrossentropy(model.apply(x, { training: true }) as tf.Tensor, y),
        false,
        variables,
      );
    step();
    const kernel = maskedLayers(model)[0]!.kernelVariable.read();
    const snapshot = tf.clone(kernel);
    const before = Float32Array.from(snapshot.dataSync());
    step();
    expect(Float32Array.from(snapshot.dataSync())).toEqual(before);
    expect(Float32Array.from(kernel.dataSync())).not.toEqual(before);
    tf.dispose([snapshot, x, y]);
  });

  it('SGD with momentum follows a learning rate changed between steps', () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'momentumRate');
    const optimizer = new FusedMomentumOptimizer(0.1, 0.9);
    const loss = () => tf.sum(w) as tf.Scalar;
    optimizer.minimize(loss, false, [w]);
    (optimizer as unknown as { learningRate: number }).learningRate = 0;
    const before = Float32Array.from(w.dataSync());
    // With rate 0 the weights stay where they are, whatever the momentum holds.
    optimizer.minimize(loss, false, [w]);
    expect(Float32Array.from(w.dataSync())).toEqual(before);
    tf.dispose(w);
    optimizer.dispose();
  });

  it('weight decay on the sparse path trains like the dense path, and the loss keeps its decay term', async () => {
    const split = (count: number): ImageSplit => {
      const images = new Uint8Array(count * 192);
      for (let i = 0; i < images.length; i++) images[i] = (i * 7919) % 251;
      return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 4), count };
    };
    const run = async (kernels: 'dense' | 'sparse', optimizer: 'adam' | 'sgd') => {
      const model = sparseCnn();
      const result = await train({
        model,
        train: split(24),
        validation: split(8),
        inputShape: [8, 8, 3],
        epochs: 1,
        batchSize: 8,
        learningRate: 0.02,
        seed: 1,
        kernels,
        optimizer,
        weightDecay: 0.05,
      });
      return {
        weights: model.getWeights().map((t) => t.dataSync()),
        loss: result.epochs[0]!.trainLoss,
      };
    };
    for (const optimizer of ['adam', 'sgd'] as const) {
      const dense = await run('dense', optimizer);
      const sparse = await run('sparse', optimizer);
      expect(sparse.loss).toBeCloseTo(dense.loss, 5);
      dense.weights.forEach((w, i) => {
        const s = sparse.weights[i]!;
        for (let j = 0; j < w.length; j++) expect(Math.abs(s[j]! - w[j]!)).toBeLessThan(1e-4);
      });
    }
  });

  it('a mask write that changes nothing keeps the mask data and its layout; a change rebuilds only that layer', () => {
    const model = sparseCnn();
    const [conv, dense] = maskedLayers(model) as [DynamicConv2D, DynamicDense];
    for (const l of [conv, dense]) l.kernelMode = 'sparse';
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3);
    const ids = () => [conv, dense].map((l) => l.maskVariable.read().dataId);
    tf.tidy(() => {
      model.apply(x);
    });
    const before = ids();
    conv.writeMaskAndKernel(conv.getMask(), conv.getKernel());
    dense.writeMaskAndKernel(dense.getMask(), null);
    expect(ids()).toEqual(before);
    const mask = dense.getMask();
    mask[mask.indexOf(0)] = 1;
    dense.writeMaskAndKernel(mask, null);
    const after = ids();
    expect(after[0]).toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(dense.nnz).toBe(dense.getMask().reduce((a, b) => a + b, 0));
    x.dispose();
  });
});
