// The library's adoption helpers: datasets as tensors, a fit progress callback, loadDynamicModel, stripMasks.
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { DynamicConv2D, DynamicDense, fastBatchNormalization } from '../../src/layers/index.js';
import { stripMasks } from '../../src/sparsity/strip-masks.js';
import { disposeDataset, loadDatasetTensors } from '../../src/data/tensors.js';
import { fitProgress } from '../../src/train/fit-progress.js';
import { loadDynamicModel } from '../../src/train/load-model.js';
import { folderHandler } from '../../src/train/model-files.js';
import { fixturePixel, writeCifarFolder } from '../data/fixtures.js';
import { temporaryFolder } from '../train/helpers.js';

function sparseCnn(): tf.LayersModel {
  return tf.sequential({
    layers: [
      new DynamicConv2D({
        inputShape: [8, 8, 3],
        filters: 6,
        kernelSize: 3,
        activation: 'relu',
        sparsity: 0.7,
        seed: 3,
      }),
      fastBatchNormalization(),
      tf.layers.flatten(),
      new DynamicDense({ units: 4, activation: 'softmax', sparsity: 0.8, seed: 4 }),
    ],
  });
}

const input = (n: number) => tf.randomUniform([n, 8, 8, 3], 0, 1, 'float32', 7);

describe('library helpers', () => {
  const inFolder = temporaryFolder('dynaprune-api-');
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('loads a dataset as tensors scaled to [0, 1], with a validation split from the end', async () => {
    const folder = await writeCifarFolder(inFolder('cifar'), 10);
    const before = tf.memory().numTensors;
    const data = await loadDatasetTensors('cifar10', {
      dataDir: folder,
      recordsPerFile: 'any',
      validationSplit: 0.2,
    });
    expect(data.train.xs.shape).toEqual([40, 32, 32, 3]);
    expect(data.validation!.xs.shape).toEqual([10, 32, 32, 3]);
    expect(data.test.xs.shape).toEqual([10, 32, 32, 3]);
    expect(data.train.ys.dtype).toBe('float32');
    const pixels = data.train.xs.dataSync();
    expect(Math.max(...pixels.subarray(0, 3072))).toBeLessThanOrEqual(1);
    // NHWC: image 0, row 0, column 1, channel 2.
    expect(pixels[1 * 3 + 2]).toBeCloseTo(fixturePixel(0, 2, 0, 1) / 255, 7);
    // The validation images are the last training ones (image 40 of 50).
    expect(data.validation!.xs.dataSync()[0]).toBeCloseTo(fixturePixel(40, 0, 0, 0) / 255, 7);
    disposeDataset(data);
    expect(tf.memory().numTensors).toBe(before);
    await expect(
      loadDatasetTensors('cifar10', { dataDir: folder, recordsPerFile: 'any', validationSplit: 1 }),
    ).rejects.toThrow(InvalidArgumentError);
  });

  it('fitProgress prints through its log one line per epoch, and warns on tfjs-cpu', async () => {
    const lines: string[] = [];
    const model = sparseCnn();
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['acc'] });
    const xs = input(16);
    const ys = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 8,
      callbacks: [fitProgress({ log: (l) => lines.push(l), bar: false })],
    });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^epoch 2\/2 \| loss \d+\.\d{4} \| acc \d\.\d{4} \| \d+\.\d s$/);
    await tf.setBackend('cpu');
    const warned: string[] = [];
    const onCpu = sparseCnn();
    onCpu.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    await onCpu.fit(tf.zeros([2, 8, 8, 3]), tf.tensor1d([0, 1]), {
      epochs: 1,
      callbacks: [fitProgress({ log: (l) => warned.push(l), bar: false })],
    });
    expect(warned[0]).toMatch(/^warning: training on tfjs-cpu/);
    await initBackend('wasm');
  });

  it('loadDynamicModel loads a saved dynamic model from its folder or model.json, masks included', async () => {
    const model = sparseCnn();
    const x = input(3);
    const expected = (model.predict(x) as tf.Tensor).arraySync();
    const folder = inFolder('saved');
    await model.save(folderHandler(folder));
    for (const path of [folder, join(folder, 'model.json')]) {
      const loaded = await loadDynamicModel(path);
      expect(loaded.layers[0]).toBeInstanceOf(DynamicConv2D);
      expect((loaded.predict(x) as tf.Tensor).arraySync()).toEqual(expected);
    }
    await expect(loadDynamicModel(inFolder('nothing'))).rejects.toThrow(/does not exist/);
  });

  it('stripMasks gives plain conv2d/dense layers with masked kernels that compute the same outputs', async () => {
    const model = sparseCnn();
    const x = input(5);
    const expected = (model.predict(x) as tf.Tensor).dataSync();
    const plain = await stripMasks(model);
    expect(plain.layers.map((l) => l.getClassName())).toEqual([
      'Conv2D',
      'BatchNormalization',
      'Flatten',
      'Dense',
    ]);
    expect(plain.weights.some((w) => w.originalName.endsWith('/mask'))).toBe(false);
    const actual = (plain.predict(x) as tf.Tensor).dataSync();
    actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    // Exact zeros where the mask is zero: the conv kernel keeps 30% of its 162 weights.
    const kernel = plain.layers[0]!.getWeights()[0]!.dataSync();
    expect(kernel.filter((v) => v !== 0).length).toBe(Math.round(0.3 * 162));
    // The topology names only built-in classes, so plain tf.loadLayersModel can read it.
    const classes = JSON.stringify(plain.toJSON(null, false)).match(/"class_name":"\w+"/g);
    expect(classes!.join()).not.toMatch(/Dynamic|FastBatch/);
    plain.dispose();
  });
});
