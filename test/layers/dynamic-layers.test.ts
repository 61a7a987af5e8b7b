// DynamicConv2D and DynamicDense: exact sparsity, masked weights stay zero, dense equivalence, round trips.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { InvalidArgumentError, UnknownNameError } from '../../src/errors.js';
import {
  DynamicConv2D,
  DynamicDense,
  maskedLayers,
  registerDynamicLayers,
} from '../../src/layers/index.js';
import { Random } from '../../src/util/random.js';

function model(
  sparsity: number,
  maskInit: 'random' | 'magnitude' = 'random',
  seed = 1,
): tf.LayersModel {
  return tf.sequential({
    layers: [
      new DynamicConv2D({
        name: 'c',
        inputShape: [6, 6, 3],
        filters: 5,
        kernelSize: 3,
        activation: 'relu',
        sparsity,
        maskInit,
        seed,
        padding: 'same',
      }),
      tf.layers.flatten({ name: 'f' }),
      new DynamicDense({
        name: 'd',
        units: 4,
        activation: 'softmax',
        sparsity,
        maskInit,
        seed: seed + 1,
      }),
    ],
  });
}

async function memorySave(m: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

describe('dynamic layers', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    registerDynamicLayers();
  });

  it('at sparsity 0 compute exactly what conv2d and dense compute', () => {
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 3);
    const conv = new DynamicConv2D({
      filters: 5,
      kernelSize: [3, 2],
      strides: [2, 1],
      padding: 'same',
      activation: 'relu',
    });
    const plainConv = tf.layers.conv2d({
      filters: 5,
      kernelSize: [3, 2],
      strides: [2, 1],
      padding: 'same',
      activation: 'relu',
    });
    const yd = conv.apply(x) as tf.Tensor;
    plainConv.apply(x);
    plainConv.setWeights(conv.getWeights().slice(0, 2));
    expect(Array.from(yd.dataSync())).toEqual(
      Array.from((plainConv.apply(x) as tf.Tensor).dataSync()),
    );
    expect(conv.nnz).toBe(conv.kernelSize);

    const flat = tf.randomNormal([3, 7], 0, 1, 'float32', 4);
    const dense = new DynamicDense({ units: 4, activation: 'softmax' });
    const plainDense = tf.layers.dense({ units: 4, activation: 'softmax' });
    const zd = dense.apply(flat) as tf.Tensor;
    plainDense.apply(flat);
    plainDense.setWeights(dense.getWeights().slice(0, 2));
    expect(Array.from(zd.dataSync())).toEqual(
      Array.from((plainDense.apply(flat) as tf.Tensor).dataSync()),
    );
  });

  it('hold exactly round((1 - s) * size) weights after construction and every setSparsity', () => {
    const m = model(0.7);
    const [conv, dense] = maskedLayers(m) as [DynamicConv2D, DynamicDense];
    expect(conv.nnz).toBe(Math.round(0.3 * 135));
    expect(dense.nnz).toBe(Math.round(0.3 * 180 * 4));
    const rng = new Random(2);
    for (const s of [0.9, 0.5, 0.0, 0.99, 0.333, 0.75, 0.2]) {
      for (const layer of [conv, dense]) {
        layer.setSparsity(s, { rng });
        expect(layer.nnz).toBe(Math.round((1 - s) * layer.kernelSize));
        expect(layer.sparsity).toBeCloseTo(
          1 - Math.round((1 - s) * layer.kernelSize) / layer.kernelSize,
          12,
        );
        const mask = layer.getMask();
        const kernel = layer.getKernel();
        for (let i = 0; i < mask.length; i++) if (mask[i] === 0) expect(kernel[i]).toBe(0);
      }
    }
  });

  it('prune the smallest magnitudes when the sparsity goes up, and regrow at zero when it goes down', () => {
    const layer = maskedLayers(model(0))[0]!;
    const before = layer.getKernel();
    layer.setSparsity(0.5);
    const mask = layer.getMask();
    const kept = before.filter((_, i) => mask[i] === 1).map(Math.abs);
    const dropped = before.filter((_, i) => mask[i] === 0).map(Math.abs);
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...dropped));
    const pruned = layer.getKernel();
    layer.setSparsity(0.2);
    const grown = layer.getMask();
    const after = layer.getKernel();
    for (let i = 0; i < grown.length; i++) {
      if (grown[i] === 1 && mask[i] === 0) expect(after[i]).toBe(0);
      if (mask[i] === 1) expect(after[i]).toBe(pruned[i]);
    }
  });

  it('keep masked weights exactly zero through optimizer steps', () => {
    const m = model(0.8);
    const optimizer = tf.train.adam(0.05);
    const x = tf.randomNormal([4, 6, 6, 3], 0, 1, 'float32', 5);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    const before = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) {
      optimizer.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            m.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
      );
    }
    for (const layer of maskedLayers(m)) {
      const mask = layer.getMask();
      const kernel = layer.getKernel();
      let changed = 0;
      for (let i = 0; i < mask.length; i++) {
        if (mask[i] === 0) expect(kernel[i]).toBe(0);
        else if (kernel[i] !== 0) changed++;
      }
      expect(changed).toBe(layer.nnz);
    }
    optimizer.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  it('round-trip through model.save and tf.loadLayersModel with their masks', async () => {
    const m = model(0.6, 'magnitude', 3);
    maskedLayers(m)[0]!.setSparsity(0.85);
    const artifacts = await memorySave(m);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 6);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((m.predict(x) as tf.Tensor).dataSync()),
    );
    const [a, b] = [maskedLayers(m), maskedLayers(loaded)];
    expect(b.map((l) => l.getClassName())).toEqual(['DynamicConv2D', 'DynamicDense']);
    for (let i = 0; i < a.length; i++) {
      expect(Array.from(b[i]!.getMask())).toEqual(Array.from(a[i]!.getMask()));
      expect(b[i]!.nnz).toBe(a[i]!.nnz);
    }
  });

  it('give the same masks for the same seed', () => {
    const masks = (seed: number) =>
      maskedLayers(model(0.5, 'random', seed)).map((l) => Array.from(l.getMask()));
    expect(masks(4)).toEqual(masks(4));
    expect(masks(4)).not.toEqual(masks(5));
  });

  it('reject bad sparsities, sizes and unknown names with typed errors', () => {
    expect(() => new DynamicDense({ units: 0 })).toThrow(/units must be a positive integer, got 0/);
    expect(() => new DynamicConv2D({ filters: 2.5, kernelSize: 3 })).toThrow(
      /filters must be a positive integer, got 2.5/,
    );
    expect(() => new DynamicDense({ units: 2, sparsity: 1 })).toThrow(InvalidArgumentError);
    expect(() => new DynamicDense({ units: 2, sparsity: -0.1 })).toThrow(InvalidArgumentError);
    expect(() => new DynamicDense({ units: 2, activation: 'swish' })).toThrow(UnknownNameError);
    expect(
      () => new DynamicConv2D({ filters: 2, kernelSize: 3, maskInit: 'best' as 'random' }),
    ).toThrow(InvalidArgumentError);
    const layer = maskedLayers(model(0.5))[1]!;
    expect(() => layer.setSparsity(1.5)).toThrow(/\[0, 1\)/);
  });
});
