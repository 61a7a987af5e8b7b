// recalibrateBatchNorm: moving statistics become plain averages over clean images; nothing else changes.
// recalibrateAndValidate: the new statistics stay only when held-out validation accuracy rises.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageSplit } from '../../src/data/types.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { fastBatchNormalization } from '../../src/layers/batch-norm.js';
import {
  hasBatchNorm,
  recalibrateAndValidate,
  recalibrateBatchNorm,
} from '../../src/train/batch-norm-stats.js';
import { Random } from '../../src/util/random.js';

function split(count: number, seed: number): ImageSplit {
  const rng = new Random(seed);
  return {
    count,
    images: Uint8Array.from({ length: count * 4 * 4 * 2 }, () => Math.floor(rng.nextFloat() * 256)),
    labels: Uint8Array.from({ length: count }, () => Math.floor(rng.nextFloat() * 3)),
  };
}

describe('recalibrateBatchNorm', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('sets the moving mean and variance to averages of batch statistics over the first N images', () => {
    const conv = tf.layers.conv2d({
      filters: 3,
      kernelSize: 3,
      inputShape: [4, 4, 2],
      seed: 3,
    } as never);
    const bn = fastBatchNormalization({ name: 'bn', momentum: 0.99 });
    const model = tf.sequential({
      layers: [conv, bn, tf.layers.flatten(), tf.layers.dense({ units: 3, activation: 'softmax' })],
    });
    expect(hasBatchNorm(model)).toBe(true);
    const data = split(50, 7);
    const before = model.trainableWeights.map((w) => w.read().dataSync().slice());
    const tensors = tf.memory().numTensors;

    recalibrateBatchNorm(model, data, [4, 4, 2], { images: 40, batchSize: 20 });

    // Expected: the conv output's per-channel mean and variance on each batch of 20, averaged.
    const means: number[][] = [];
    const variances: number[][] = [];
    for (const start of [0, 20]) {
      const [mean, variance] = tf.tidy(() => {
        const x = tf.tensor4d(
          Float32Array.from(data.images.subarray(start * 32, (start + 20) * 32), (v) => v / 255),
          [20, 4, 4, 2],
        );
        const m = tf.moments(conv.apply(x) as tf.Tensor, [0, 1, 2]);
        return [Array.from(m.mean.dataSync()), Array.from(m.variance.dataSync())];
      });
      means.push(mean!);
      variances.push(variance!);
    }
    const [, , movingMean, movingVariance] = bn.getWeights();
    const avg = (rows: number[][]) => rows[0]!.map((_, c) => (rows[0]![c]! + rows[1]![c]!) / 2);
    const gotMean = Array.from(movingMean!.dataSync());
    const gotVar = Array.from(movingVariance!.dataSync());
    avg(means).forEach((m, c) => expect(gotMean[c]).toBeCloseTo(m, 5));
    // tfjs-layers keeps the biased batch variance in its moving average, as tf.moments computes it.
    avg(variances).forEach((v, c) => expect(gotVar[c]).toBeCloseTo(v, 5));

    // Trainable weights and the momentum are untouched; no tensor is left behind.
    model.trainableWeights.forEach((w, i) => expect(w.read().dataSync()).toEqual(before[i]));
    expect((bn as unknown as { momentum: number }).momentum).toBe(0.99);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it('rejects an empty request and reports models without BatchNorm', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    expect(hasBatchNorm(model)).toBe(false);
    expect(() => recalibrateBatchNorm(model, split(5, 1), [4, 4, 2], { images: 0 })).toThrow(
      InvalidArgumentError,
    );
    model.dispose();
  });

  it('keeps re-estimated statistics only when they raise held-out validation accuracy', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 3, kernelSize: 3, inputShape: [4, 4, 2], seed: 3 } as never),
        fastBatchNormalization({ name: 'bn', momentum: 0.99 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const bn = model.getLayer('bn');
    const stats = () => bn.getWeights().map((t) => Array.from(t.dataSync()));
    const original = stats();
    const data = { train: split(40, 7), validation: split(30, 8), inputShape: [4, 4, 2] as const };
    const tensors = tf.memory().numTensors;

    // Validation before the step cannot be beaten (accuracy above 1): the old statistics come back.
    const reverted = recalibrateAndValidate(model, { ...data, validationIsTest: false }, 40, {
      loss: 0,
      acc: 1.01,
    });
    expect(reverted?.kept).toBe(false);
    expect(stats()).toEqual(original);
    expect(tf.memory().numTensors).toBe(tensors);

    // Judged on the test set (no held-out split) the step is part of the recipe and always stays.
    const onTest = recalibrateAndValidate(model, { ...data, validationIsTest: true }, 40, {
      loss: 0,
      acc: 1.01,
    });
    expect(onTest).toMatchObject({ kept: true, judgedOn: 'test', images: 40 });
    const recalibrated = stats();
    expect(recalibrated[2]).not.toEqual(original[2]);

    // Any real gain on validation keeps them.
    bn.setWeights(original.map((v, i) => tf.tensor1d(v, bn.getWeights()[i]!.dtype as 'float32')));
    const kept = recalibrateAndValidate(model, { ...data, validationIsTest: false }, 40, {
      loss: 9,
      acc: -1,
    });
    expect(kept?.kept).toBe(true);
    expect(stats()).toEqual(recalibrated);
    model.dispose();
  });
});
