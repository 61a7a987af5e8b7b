// RigL's dense gradients: the true gradients of the effective kernels, read without rewriting any mask or layout.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UpdateContext } from '../../src/algorithms/algorithm.js';
import { RigL } from '../../src/algorithms/rigl.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { initBackend } from '../../src/engine/backend.js';
import {
  DynamicConv2D,
  DynamicDense,
  fastBatchNormalization,
  maskedLayers,
  MaskedLayer,
} from '../../src/layers/index.js';
import { sparseCategoricalCrossentropy } from '../../src/train/loss.js';
import { Random } from '../../src/util/random.js';
import { batch, denseModel, sparseModel, trainStep } from './helpers.js';

/** RigL updating at every step (drop fraction 0.3 unless given) that hands its dense gradients to `seen`. */
function recordingRigL(
  seen: (g: ReadonlyMap<string, Float32Array>) => void,
  dropFraction = 0.3,
): RigL {
  const rigl = new RigL({ period: 1, stopFraction: 1, cosineDecay: false, dropFraction });
  const update = rigl.update.bind(rigl);
  rigl.update = (context: UpdateContext) => {
    seen(context.gradients());
    return update(context);
  };
  return rigl;
}

/** ∂loss/∂kernel of each layer of a plain tfjs twin of `model` with `model`'s kernel × mask as kernels. */
function twinGradients(
  model: tf.LayersModel,
  b: { x: tf.Tensor; y: tf.Tensor },
): Map<string, Float32Array> {
  const twin = denseModel();
  const layers = maskedLayers(model);
  for (const layer of layers) {
    const mask = layer.getMask();
    const [kernel, bias] = layer.getWeights();
    const effective = tf.tensor(
      layer.getKernel().map((w, i) => w * mask[i]!),
      kernel!.shape,
    );
    twin.getLayer(layer.name).setWeights([effective, bias!]);
    effective.dispose();
  }
  const variables = layers.map(
    (l) => twin.getLayer(l.name).trainableWeights[0]!.read() as tf.Variable,
  );
  const { grads, value } = tf.variableGrads(
    () => sparseCategoricalCrossentropy(twin.apply(b.x, { training: true }) as tf.Tensor, b.y),
    variables,
  );
  const out = new Map(
    layers.map((l, i) => [l.name, Float32Array.from(grads[variables[i]!.name]!.dataSync())]),
  );
  tf.dispose([value, ...Object.values(grads)]);
  twin.dispose();
  return out;
}

/**
 * Sparse convs on `batch`'s 8x8x3 images, each followed by BatchNorm: dynaprune's fused one (8 channels,
 * its wasm kernels) and tfjs's own (12 channels), so both ways of updating the moving statistics are seen.
 */
function batchNormModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      new DynamicConv2D({
        inputShape: [8, 8, 3],
        filters: 8,
        kernelSize: 3,
        sparsity: 0.7,
        seed: 1,
      }),
      fastBatchNormalization({ name: 'bn_fused' }),
      tf.layers.reLU(),
      new DynamicConv2D({ filters: 12, kernelSize: 3, sparsity: 0.7, seed: 2 }),
      tf.layers.batchNormalization({ name: 'bn_stock' }),
      tf.layers.reLU(),
      tf.layers.flatten(),
      new DynamicDense({ units: 4, activation: 'softmax', sparsity: 0.7, seed: 3 }),
    ],
  });
}

/** Every BatchNorm layer's moving mean and variance, as plain arrays. */
const movingStatistics = (model: tf.LayersModel): number[][] =>
  ['bn_fused', 'bn_stock'].flatMap((name) =>
    model
      .getLayer(name)
      .getWeights()
      .slice(2)
      .map((w) => Array.from(w.dataSync())),
  );

describe("RigL's request for dense kernel gradients", () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('gets the gradients of the effective kernels, masked positions included, on sparse-path layers', async () => {
    const model = await sparseModel(0.8, 31);
    for (const l of maskedLayers(model)) l.kernelMode = 'sparse';
    const optimizer = tf.train.adam(0.01);
    let seen: ReadonlyMap<string, Float32Array> | undefined;
    const trainer = new SparseTrainer(
      model,
      recordingRigL((g) => (seen = g)),
      { optimizer },
    );
    const b = batch(3);
    trainStep(model, optimizer, b);
    const expected = twinGradients(model, b);
    trainer.step({ step: 1, totalSteps: 10, batch: b });
    for (const layer of maskedLayers(model)) {
      const got = seen!.get(layer.name)!;
      const want = expected.get(layer.name)!;
      let maskedNonzero = 0;
      const before = layer.getMask();
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(got[i]! - want[i]!), `${layer.name}[${i}]`).toBeLessThanOrEqual(
          1e-5 * Math.max(1e-3, Math.abs(want[i]!)),
        );
        if (before[i] === 0 && got[i] !== 0) maskedNonzero++;
      }
      // The point of the request: gradients where the mask is 0 (a masked gradient would be 0 there).
      expect(maskedNonzero, layer.name).toBeGreaterThan(0);
    }
    tf.dispose([b.x, b.y]);
    trainer.dispose();
    optimizer.dispose();
  });

  it('rebuilds the sparse layouts of the layers whose masks the update changed, and only those', async () => {
    const model = await sparseModel(0.8, 32);
    const layers = maskedLayers(model);
    for (const l of layers) l.kernelMode = 'sparse';
    const optimizer = tf.train.adam(0.01);
    // Drop 3%: one weight or more in the three larger layers, none of the last layer's 13.
    const trainer = new SparseTrainer(
      model,
      recordingRigL(() => undefined, 0.03),
      {
        rng: new Random(2),
        optimizer,
      },
    );
    const b = batch(4);
    trainStep(model, optimizer, b);
    const built = layers.map((l) => l.layoutBuilds);
    for (const n of built) expect(n).toBeGreaterThan(0);
    const before = layers.map((l) => l.getMask());
    trainer.step({ step: 1, totalSteps: 10, batch: b });
    trainStep(model, optimizer, b);
    const changed = layers.map((l, i) => l.getMask().some((v, j) => v !== before[i]![j]));
    expect(changed).toEqual([true, true, true, false]);
    expect(layers.map((l, i) => l.layoutBuilds - built[i]!)).toEqual([1, 1, 1, 0]);
    tf.dispose([b.x, b.y]);
    trainer.dispose();
    optimizer.dispose();
  });

  it('leaves masks, outputs and the number of tensors as they were', async () => {
    const model = await sparseModel(0.7, 33);
    const layers = maskedLayers(model);
    // Compared with the usual dense path, which the pass takes.
    for (const l of layers) l.kernelMode = 'dense';
    const b = batch(5);
    const before = (model.predict(b.x) as tf.Tensor).dataSync().slice();
    const masks = layers.map((l) => l.maskVariable.read().dataId);
    const tensors = tf.memory().numTensors;
    const inside = MaskedLayer.withDenseKernelGradients(layers, () =>
      tf.tidy(() => (model.predict(b.x) as tf.Tensor).dataSync().slice()),
    );
    expect(inside).toEqual(before);
    expect(layers.map((l) => l.maskVariable.read().dataId)).toEqual(masks);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([b.x, b.y]);
  });

  it("leaves BatchNorm's moving statistics as they were: the pass is not a training step", async () => {
    const model = batchNormModel();
    const optimizer = tf.train.adam(0.01);
    let seen: ReadonlyMap<string, Float32Array> | undefined;
    const trainer = new SparseTrainer(
      model,
      recordingRigL((g) => (seen = g)),
      { optimizer },
    );
    const b = batch(6);
    const initial = movingStatistics(model);
    trainStep(model, optimizer, b);
    const afterStep = movingStatistics(model);
    // A training step moves them, in both layers: a pass that did the same would be seen.
    for (let i = 0; i < initial.length; i++) expect(afterStep[i]).not.toEqual(initial[i]);
    const tensors = tf.memory().numTensors;
    const record = trainer.step({ step: 1, totalSteps: 10, batch: b });
    // The update ran, on gradients from a pass over the batch in training mode.
    expect(record?.step).toBe(1);
    expect(seen?.size).toBe(3);
    expect(movingStatistics(model)).toEqual(afterStep);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([b.x, b.y]);
    trainer.dispose();
    optimizer.dispose();
    model.dispose();
  });
});
