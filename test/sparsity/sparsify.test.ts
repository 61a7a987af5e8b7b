// Distributions (uniform, ERK) and sparsify(): exact global targets, capped densities, weights kept.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { InvalidArgumentError, UnknownNameError } from '../../src/errors.js';
import { maskedLayers } from '../../src/layers/index.js';
import { allocate, erkDistribution } from '../../src/sparsity/distributions.js';
import { sparsify } from '../../src/sparsity/sparsify.js';
import { denseModel } from '../algorithms/helpers.js';

const shapes = [
  { name: 'first', shape: [3, 3, 3, 16] },
  { name: 'mid', shape: [3, 3, 16, 32] },
  { name: 'big', shape: [3, 3, 32, 64] },
  { name: 'fc', shape: [1024, 64] },
  { name: 'head', shape: [64, 10] },
];

describe('distributions', () => {
  it('ERK meets the global target exactly and caps every density at 1', () => {
    for (const sparsity of [0.5, 0.8, 0.9, 0.95, 0.99, 0.2]) {
      const allocation = erkDistribution(shapes, sparsity);
      const total = allocation.reduce((a, l) => a + l.size, 0);
      expect(allocation.reduce((a, l) => a + l.nnz, 0)).toBe(Math.round((1 - sparsity) * total));
      for (const l of allocation) {
        expect(l.nnz).toBeLessThanOrEqual(l.size);
        expect(l.nnz).toBeGreaterThanOrEqual(0);
      }
      // ERK favours small layers: the first conv is never sparser than the big one.
      expect(allocation[0]!.sparsity).toBeLessThanOrEqual(allocation[2]!.sparsity + 1e-12);
    }
    // At 20% sparsity the small layers would exceed density 1 without the cap.
    const low = erkDistribution(shapes, 0.2);
    expect(low[0]!.nnz).toBe(low[0]!.size);
    expect(low[4]!.nnz).toBe(low[4]!.size);
  });

  it('uniform gives every layer the same sparsity', () => {
    for (const l of allocate('uniform', shapes, 0.9)) expect(l.nnz).toBe(Math.round(0.1 * l.size));
  });

  it('rejects unknown distributions and bad sparsities', () => {
    expect(() => allocate('gaussian', shapes, 0.5)).toThrow(UnknownNameError);
    expect(() => allocate('erk', shapes, 1)).toThrow(InvalidArgumentError);
  });
});

describe('sparsify', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('converts Conv2D and Dense layers of a Sequential model, keeping the largest weights', async () => {
    const dense = denseModel(2);
    const { model, allocation } = await sparsify(dense, { sparsity: 0.75 });
    expect(model.layers.map((l) => l.getClassName())).toEqual([
      'DynamicConv2D',
      'MaxPooling2D',
      'DynamicConv2D',
      'Flatten',
      'DynamicDense',
      'DynamicDense',
    ]);
    expect(allocation).toHaveLength(4);
    for (const layer of maskedLayers(model)) {
      expect(layer.nnz).toBe(Math.round(0.25 * layer.kernelSize));
      const original = dense.getLayer(layer.name).getWeights()[0]!.dataSync();
      const mask = layer.getMask();
      const kernel = layer.getKernel();
      let keptMin = Infinity;
      let droppedMax = 0;
      for (let i = 0; i < mask.length; i++) {
        if (mask[i] === 1) {
          expect(kernel[i]).toBe(original[i]);
          keptMin = Math.min(keptMin, Math.abs(original[i]!));
        } else {
          droppedMax = Math.max(droppedMax, Math.abs(original[i]!));
        }
      }
      expect(keptMin).toBeGreaterThanOrEqual(droppedMax);
      // Biases come across unchanged.
      expect(Array.from(layer.getWeights()[1]!.dataSync())).toEqual(
        Array.from(dense.getLayer(layer.name).getWeights()[1]!.dataSync()),
      );
    }
    // At sparsity 0 the converted model computes exactly what the original does.
    const same = (await sparsify(dense, { sparsity: 0 })).model;
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
    expect(Array.from((same.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((dense.predict(x) as tf.Tensor).dataSync()),
    );
  });

  it('converts a functional model and honours exclude by name and by predicate', async () => {
    const input = tf.input({ shape: [6, 6, 2] });
    const a = tf.layers
      .conv2d({ name: 'stem', filters: 4, kernelSize: 3, padding: 'same' })
      .apply(input) as tf.SymbolicTensor;
    const b = tf.layers
      .conv2d({ name: 'branch', filters: 4, kernelSize: 3, padding: 'same' })
      .apply(a) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([a, b]) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(sum) as tf.SymbolicTensor;
    const out = tf.layers.dense({ name: 'head', units: 3 }).apply(flat) as tf.SymbolicTensor;
    const functional = tf.model({ inputs: input, outputs: out });
    const byName = await sparsify(functional, {
      sparsity: 0.5,
      exclude: ['stem', 'head'],
      distribution: 'erk',
    });
    expect(maskedLayers(byName.model).map((l) => l.name)).toEqual(['branch']);
    const byPredicate = await sparsify(functional, {
      sparsity: 0.5,
      exclude: (l) => l.className === 'Dense',
    });
    expect(maskedLayers(byPredicate.model).map((l) => l.name)).toEqual(['stem', 'branch']);
    await expect(sparsify(functional, { sparsity: 0.5, exclude: ['nope'] })).rejects.toThrow(
      /nope/,
    );
  });
});
