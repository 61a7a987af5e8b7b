// SparseTrainer as a model.fit callback: DSR updates masks during fit and keeps its invariants.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DSR } from '../../src/algorithms/dsr.js';
import { PeriodicSchedule } from '../../src/algorithms/schedules.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { initBackend } from '../../src/engine/backend.js';
import { maskedLayers } from '../../src/layers/index.js';
import { sparseModel } from './helpers.js';

describe('SparseTrainer.fitCallback', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('rewires during model.fit, with the total nnz constant and masked weights zero', async () => {
    const model = await sparseModel(0.8, 21);
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    const xs = tf.randomNormal([64, 8, 8, 3], 0, 1, 'float32', 1);
    const ys = tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => i % 4),
      'float32',
    );
    const nnzBefore = maskedLayers(model).reduce((a, l) => a + l.nnz, 0);
    const trainer = new SparseTrainer(
      model,
      new DSR({ schedule: new PeriodicSchedule(2), targetPruned: 30 }),
    );
    const epochs = 3;
    const steps = epochs * 4;
    await model.fit(xs, ys, {
      epochs,
      batchSize: 16,
      verbose: 0,
      callbacks: [trainer.fitCallback({ totalSteps: steps })],
    });
    // The initial record plus one every 2 steps, none at the very last step.
    expect(trainer.records).toHaveLength(1 + steps / 2 - 1);
    expect(trainer.records[0]!['initial']).toBe(true);
    expect(maskedLayers(model).reduce((a, l) => a + l.nnz, 0)).toBe(nnzBefore);
    for (const layer of maskedLayers(model)) {
      const mask = layer.getMask();
      const kernel = layer.getKernel();
      for (let i = 0; i < mask.length; i++) if (mask[i] === 0) expect(kernel[i]).toBe(0);
    }
  });
});
