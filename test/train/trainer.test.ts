// The training loop: determinism, checkpoints and resume, typed errors on bad input, no leaked tensors.
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { InvalidArgumentError, NonFiniteLossError, ShapeMismatchError } from '../../src/errors.js';
import { learningRateAt, train } from '../../src/train/trainer.js';
import { temporaryFolder, tinyCnn, trainOptions, weightsOf } from './helpers.js';

describe('train()', () => {
  const inFolder = temporaryFolder('dynaprune-train-');
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('learns, and the same seed gives the same weights and metrics', async () => {
    const a = tinyCnn(1);
    const b = tinyCnn(1);
    const ra = await train(trainOptions(a, { epochs: 3 }));
    const rb = await train(trainOptions(b, { epochs: 3 }));
    expect(weightsOf(a)).toEqual(weightsOf(b));
    expect(ra.epochs.map((e) => e.trainLoss)).toEqual(rb.epochs.map((e) => e.trainLoss));
    expect(ra.epochs[2]!.trainLoss).toBeLessThan(ra.epochs[0]!.trainLoss);
    expect(ra.final.acc).toBeGreaterThan(0.5);
    const c = tinyCnn(1);
    await train(trainOptions(c, { epochs: 3, seed: 6 }));
    expect(weightsOf(c)).not.toEqual(weightsOf(a));
  });

  it('leaves no tensors behind', async () => {
    const model = tinyCnn(2);
    const before = tf.memory().numTensors;
    await train(trainOptions(model));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('writes metrics and checkpoints, and a resumed run equals an uninterrupted one', async () => {
    const runA = inFolder('a');
    const full = tinyCnn(3);
    await train(trainOptions(full, { epochs: 3, runDir: runA }));
    const lines = (await readFile(join(runA, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const key of [
      'epoch',
      'trainLoss',
      'trainAcc',
      'valLoss',
      'valAcc',
      'seconds',
      'imagesPerSecond',
    ]) {
      expect(JSON.parse(lines[0]!)).toHaveProperty(key);
    }

    const runB = inFolder('b');
    const first = tinyCnn(3);
    await train(trainOptions(first, { epochs: 1, runDir: runB }));
    // A new process would rebuild the model from scratch; a differently seeded one proves the weights load.
    const resumed = tinyCnn(99);
    const result = await train(trainOptions(resumed, { epochs: 3, runDir: runB, resume: true }));
    expect(result.epochs).toHaveLength(3);
    expect(weightsOf(resumed)).toEqual(weightsOf(full));
  });

  it('rejects bad numbers and mismatched shapes with typed errors', async () => {
    const model = tinyCnn(4);
    await expect(train(trainOptions(model, { epochs: 0 }))).rejects.toThrow(InvalidArgumentError);
    await expect(train(trainOptions(model, { batchSize: 2.5 }))).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(train(trainOptions(model, { learningRate: Number.NaN }))).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(train(trainOptions(model, { inputShape: [8, 8, 1] }))).rejects.toThrow(
      ShapeMismatchError,
    );
    const { train: whole } = trainOptions(model);
    const truncated = { ...whole, images: whole.images.subarray(10) };
    await expect(train(trainOptions(model, { train: truncated }))).rejects.toThrow(
      ShapeMismatchError,
    );
  });

  it('stops with NonFiniteLossError when the loss diverges', async () => {
    const model = tinyCnn(5);
    const huge = model.getWeights().map((w) => tf.fill(w.shape, Number.NaN));
    model.setWeights(huge);
    await expect(train(trainOptions(model))).rejects.toThrow(NonFiniteLossError);
  });

  it('trains with SGD and momentum; weight decay shrinks the kernels; the schedules give the documented rates', async () => {
    const want = [0.1, 0.1, 0.02, 0.004, 0.0008, 0.0008];
    [0, 29, 30, 60, 80, 99].forEach((t, i) =>
      expect(learningRateAt('step', 0.1, t, 100)).toBeCloseTo(want[i]!, 12),
    );
    expect(learningRateAt('cosine', 1, 50, 100)).toBeCloseTo(0.5, 12);
    const norm = (m: tf.LayersModel) =>
      m.trainableWeights
        .filter((w) => w.originalName.endsWith('kernel'))
        .reduce((a, w) => a + tf.sum(tf.square(w.read())).dataSync()[0]!, 0);
    const plain = tinyCnn(7);
    const decayed = tinyCnn(7);
    const r = await train(trainOptions(plain, { optimizer: 'sgd', learningRate: 0.05, epochs: 3 }));
    await train(
      trainOptions(decayed, { optimizer: 'sgd', learningRate: 0.05, epochs: 3, weightDecay: 0.05 }),
    );
    expect(r.epochs[2]!.trainLoss).toBeLessThan(r.epochs[0]!.trainLoss);
    expect(norm(decayed)).toBeLessThan(norm(plain));
    await expect(train(trainOptions(tinyCnn(8), { weightDecay: -1 }))).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});
