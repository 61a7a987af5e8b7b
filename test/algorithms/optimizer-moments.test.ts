// Optimizer moments are reset at every mask change, whoever writes the mask (issue #11, bug 3).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RigL } from '../../src/algorithms/rigl.js';
import { SET } from '../../src/algorithms/set.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { initBackend } from '../../src/engine/backend.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { maskedLayers } from '../../src/layers/index.js';
import type { MaskedLayer } from '../../src/layers/masked-layer.js';
import type { ImageSplit } from '../../src/data/types.js';
import { train } from '../../src/train/trainer.js';
import { Random } from '../../src/util/random.js';
import { batch, sparseModel, trainStep } from './helpers.js';

/** Adam's first and second moments of `layer`'s kernel. */
function moments(optimizer: tf.Optimizer, layer: MaskedLayer): Float32Array[] {
  const slots = optimizer as unknown as Record<
    string,
    { originalName: string; variable: tf.Variable }[]
  >;
  const name = `${layer.kernelVariable.name}/`;
  return ['accumulatedFirstMoment', 'accumulatedSecondMoment'].map((k) =>
    Float32Array.from(slots[k]!.find((s) => s.originalName.startsWith(name))!.variable.dataSync()),
  );
}

/** Sets every Adam moment of `layer`'s kernel to `value`, so that any reset shows. */
function markMoments(optimizer: tf.Optimizer, layer: MaskedLayer, value: number): void {
  const slots = optimizer as unknown as Record<
    string,
    { originalName: string; variable: tf.Variable }[]
  >;
  const name = `${layer.kernelVariable.name}/`;
  for (const k of ['accumulatedFirstMoment', 'accumulatedSecondMoment']) {
    const slot = slots[k]!.find((s) => s.originalName.startsWith(name))!.variable;
    tf.tidy(() => slot.assign(tf.fill(slot.shape, value)));
  }
}

function split(count: number, seed: number): ImageSplit {
  const images = new Uint8Array(count * 192);
  const labels = new Uint8Array(count);
  const rng = new Random(seed);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 4;
    for (let p = 0; p < 192; p++) images[i * 192 + p] = rng.nextInt(256);
  }
  return { images, labels, count };
}

describe('optimizer moments at mask changes', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it("a SparseTrainer built without an optimizer resets the compiled model's Adam moments", async () => {
    const model = await sparseModel(0.8, 21);
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    const optimizer = model.optimizer;
    const trainer = new SparseTrainer(model, new SET({ period: 1, stopFraction: 1 }));
    for (let step = 1; step <= 3; step++) trainStep(model, optimizer, batch(step));
    const layer = maskedLayers(model)[0]!;
    const before = layer.getMask();
    trainer.step({ step: 4, totalSteps: 10 });
    const after = layer.getMask();
    const [m, v] = moments(optimizer, layer);
    let changed = 0;
    for (let i = 0; i < after.length; i++) {
      if (after[i] === before[i]) continue;
      changed++;
      expect(m![i]).toBe(0);
      expect(v![i]).toBe(0);
    }
    expect(changed).toBeGreaterThan(0);
    trainer.dispose();
  });

  it('RigL resets the moments only where its update changed the mask, not wherever its dense-gradient pass looked', async () => {
    const model = await sparseModel(0.8, 24);
    const optimizer = tf.train.adam(0.01);
    const trainer = new SparseTrainer(model, new RigL({ period: 1, stopFraction: 1 }), {
      optimizer,
    });
    // A first update subscribes the optimizer to mask writes, as train() or fitCallback do at the start.
    for (let step = 1; step <= 3; step++) trainStep(model, optimizer, batch(step));
    trainer.step({ step: 3, totalSteps: 10, batch: batch(3) });
    trainStep(model, optimizer, batch(4));
    const layers = maskedLayers(model);
    for (const layer of layers) markMoments(optimizer, layer, 0.5);
    const before = layers.map((l) => l.getMask());
    const b = batch(5);
    trainer.step({ step: 4, totalSteps: 10, batch: b });
    let changed = 0;
    let keptOff = 0;
    layers.forEach((layer, k) => {
      const after = layer.getMask();
      const [m, v] = moments(optimizer, layer);
      for (let i = 0; i < after.length; i++) {
        const flipped = after[i] !== before[k]![i];
        if (flipped) changed++;
        else if (after[i] === 0) keptOff++;
        expect(m![i], `${layer.name}[${i}] first moment`).toBe(flipped ? 0 : 0.5);
        expect(v![i], `${layer.name}[${i}] second moment`).toBe(flipped ? 0 : 0.5);
      }
    });
    expect(changed).toBeGreaterThan(0);
    expect(keptOff).toBeGreaterThan(changed);
    tf.dispose([b.x, b.y]);
    trainer.dispose();
  });

  it('refuses to change masks when it knows no optimizer', async () => {
    const model = await sparseModel(0.8, 22);
    const trainer = new SparseTrainer(model, new SET({ period: 1, stopFraction: 1 }));
    expect(() => trainer.step({ step: 1, totalSteps: 10 })).toThrow(InvalidArgumentError);
  });

  it('setSparsity during train() resets the moments: masked raw weights stay exactly 0', async () => {
    const model = await sparseModel(0.5, 23);
    let optimizer: tf.Optimizer | undefined;
    let checked = 0;
    await train({
      model,
      train: split(64, 1),
      validation: split(16, 2),
      inputShape: [8, 8, 3],
      epochs: 2,
      batchSize: 8,
      learningRate: 0.01,
      seed: 3,
      hooks: [
        {
          name: 'raise-sparsity',
          onTrainBegin: (info) => {
            optimizer = info.optimizer;
          },
          onStepEnd: ({ step }) => {
            if (step !== 4) return;
            for (const layer of maskedLayers(model)) {
              const before = layer.getMask();
              layer.setSparsity(0.8);
              const after = layer.getMask();
              const [m, v] = moments(optimizer!, layer);
              for (let i = 0; i < after.length; i++) {
                if (after[i] === before[i]) continue;
                checked++;
                expect(m![i]).toBe(0);
                expect(v![i]).toBe(0);
              }
            }
          },
        },
      ],
    });
    expect(checked).toBeGreaterThan(0);
    // Twelve more Adam steps after the prune: with stale moments the pruned raw weights would drift.
    for (const layer of maskedLayers(model)) {
      const mask = layer.getMask();
      const kernel = layer.getKernel();
      for (let i = 0; i < mask.length; i++) if (mask[i] === 0) expect(kernel[i]).toBe(0);
    }
  });
});
