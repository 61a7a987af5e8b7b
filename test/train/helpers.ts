// A tiny CNN, learnable synthetic 8x8x3 images, short-run options and a temporary folder, shared by the training-loop tests.
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { DSR } from '../../src/algorithms/dsr.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import type { ImageSplit } from '../../src/data/types.js';
import type { TrainOptions, TrainResult } from '../../src/train/trainer.js';

/** A tiny CNN on 8x8x3 images: fast on every backend, with conv, pooling and dense layers. */
export function tinyCnn(seed: number): tf.LayersModel {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 10 + i });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
}

/** `count` seeded 8x8x3 images in 3 classes, told apart by a brighter channel: a task a tiny CNN learns. */
export function syntheticSplit(count: number, seed: number): ImageSplit {
  const images = new Uint8Array(count * 192);
  const labels = new Uint8Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    labels[i] = i % 3;
    for (let p = 0; p < 192; p++) {
      s = (s * 1103515245 + 12345) >>> 0;
      images[i * 192 + p] = (s >>> 25) + (p % 3 === labels[i]! ? 100 : 0);
    }
  }
  return { images, labels, count };
}

const trainImages = syntheticSplit(96, 1);
const validationImages = syntheticSplit(30, 2);

/** A 2-epoch run of `model` on 96 synthetic training and 30 validation images; `extra` overrides any field. */
export function trainOptions(
  model: tf.LayersModel,
  extra: Partial<TrainOptions> = {},
): TrainOptions {
  return {
    model,
    train: trainImages,
    validation: validationImages,
    inputShape: [8, 8, 3],
    epochs: 2,
    batchSize: 16,
    learningRate: 0.01,
    seed: 5,
    ...extra,
  };
}

/**
 * A 4-epoch DSR run of `model` in `runDir`, as the stop and resume tests train it: batches of 8, so 12
 * steps an epoch, with several rewirings in each. `extra` adds to the options. The caller disposes the
 * trainer.
 */
export function dsrRun(
  model: tf.LayersModel,
  runDir: string,
  resume: boolean,
  extra: Partial<TrainOptions> = {},
): { trainer: SparseTrainer; options: TrainOptions } {
  const trainer = new SparseTrainer(model, new DSR({ targetPruned: 10 }));
  const options = trainOptions(model, {
    epochs: 4,
    batchSize: 8,
    seed: 3,
    hooks: [trainer],
    runDir,
    resume,
    ...extra,
  });
  return { trainer, options };
}

/** Every weight of `model`, flattened in order: two models are bit-identical when these are equal. */
export const weightsOf = (model: tf.LayersModel): number[] =>
  model.getWeights().flatMap((w) => Array.from(w.dataSync()));

/** The figures of each epoch that do not depend on the clock: equal for two runs that trained alike. */
export const clockFreeEpochs = (r: TrainResult) =>
  r.epochs.map(({ epoch, trainLoss, trainAcc, valLoss, valAcc, learningRate }) => ({
    epoch,
    trainLoss,
    trainAcc,
    valLoss,
    valAcc,
    learningRate,
  }));

/**
 * A temporary folder for the tests of one describe block, made before they run and removed after them.
 * Call it in the block; the function it returns gives the path of `name` inside the folder.
 */
export function temporaryFolder(prefix: string): (name: string) => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return (name) => {
    if (dir === undefined)
      throw new Error(`the ${prefix} folder is there only while its tests run`);
    return join(dir, name);
  };
}
