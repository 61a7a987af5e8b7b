// The sparse path of DynamicConv2D / DynamicDense against the dense masked path: outputs and all gradients.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import type { KernelMode } from '../../src/engine/sparse-choice.js';
import { DynamicConv2D, DynamicDense, type MaskedLayer } from '../../src/layers/index.js';
import { Random } from '../../src/util/random.js';
import { randomArray, relativeError } from './compare.js';

interface Outcome {
  y: Float32Array;
  dx: Float32Array;
  /** Gradients of the layer's trainable weights, in order (kernel, then bias). */
  dw: Float32Array[];
}

/** Output and gradients of sum(layer(x) · r) on the given kernel path. */
function evaluate(layer: MaskedLayer, mode: KernelMode, x: tf.Tensor, r: tf.Tensor): Outcome {
  layer.kernelMode = mode;
  return tf.tidy(() => {
    const xv = tf.variable(x, true, undefined, 'float32');
    const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const y = layer.apply(xv) as tf.Tensor;
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(xv) as tf.Tensor, r)) as tf.Scalar,
      [xv, ...weights],
    );
    const out = {
      y: y.dataSync() as Float32Array,
      dx: grads[xv.name]!.dataSync() as Float32Array,
      dw: weights.map((w) => grads[w.name]!.dataSync() as Float32Array),
    };
    xv.dispose();
    return out;
  });
}

/** Compares both paths; returns the worst relative error over y, dx and every weight gradient. */
function compare(layer: MaskedLayer, inShape: number[], seed: number): number {
  const rng = new Random(seed);
  const x = tf.tensor(
    randomArray(
      rng,
      inShape.reduce((a, b) => a * b, 1),
    ),
    inShape,
  );
  const outShape = tf.tidy(() => (layer.apply(x) as tf.Tensor).shape); // builds it
  const r = tf.tensor(
    randomArray(
      rng,
      outShape.reduce((a, b) => a * b, 1),
    ),
    outShape,
  );
  // The reference is the dense masked path on tfjs's cpu backend: tfjs-wasm's own (XNNPACK) convolution
  // is wrong for some odd shapes (for example a 1x3 kernel, stride [2, 1], 'same', one input channel).
  tf.setBackend('cpu');
  const dense = evaluate(layer, 'dense', x, r);
  tf.setBackend('wasm');
  const sparse = evaluate(layer, 'sparse', x, r);
  const mask = layer.getMask();
  // A masked weight gets exactly zero gradient on the sparse path: it never moves.
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) expect(sparse.dw[0]![i]).toBe(0);
  x.dispose();
  r.dispose();
  return Math.max(
    relativeError(sparse.y, dense.y),
    relativeError(sparse.dx, dense.dx),
    ...sparse.dw.map((g, i) => relativeError(g, dense.dw[i]!)),
  );
}

const activation = fc.constantFrom('relu', 'linear', 'sigmoid');
const density = fc.oneof(fc.constantFrom(0.01, 0.05, 0.1, 1), fc.double({ min: 0.01, max: 1 }));

describe('sparse training kernels match the dense masked path (tfjs cpu) within 1e-5', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('DynamicConv2D: random shapes, strides, paddings, batch sizes and densities', () => {
    const shapes = fc
      .record({
        n: fc.integer({ min: 1, max: 4 }),
        h: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        ci: fc.integer({ min: 1, max: 7 }),
        co: fc.integer({ min: 1, max: 9 }),
        kh: fc.integer({ min: 1, max: 4 }),
        kw: fc.integer({ min: 1, max: 4 }),
        sh: fc.integer({ min: 1, max: 3 }),
        sw: fc.integer({ min: 1, max: 3 }),
        padding: fc.constantFrom('same' as const, 'valid' as const),
        bias: fc.boolean(),
        activation,
        density,
        seed: fc.integer({ min: 0, max: 1e6 }),
      })
      .filter((c) => c.padding === 'same' || (c.kh <= c.h && c.kw <= c.w));
    fc.assert(
      fc.property(shapes, (c) => {
        const before = tf.memory().numTensors;
        const layer = new DynamicConv2D({
          filters: c.co,
          kernelSize: [c.kh, c.kw],
          strides: [c.sh, c.sw],
          padding: c.padding,
          useBias: c.bias,
          activation: c.activation,
          sparsity: Math.min(0.999, 1 - c.density),
          biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 3 }),
          seed: c.seed,
        });
        const error = compare(layer, [c.n, c.h, c.w, c.ci], c.seed);
        layer.dispose();
        expect(tf.memory().numTensors).toBe(before);
        return error <= 1e-5;
      }),
      { numRuns: 60, seed: 10 },
    );
  });

  it('DynamicConv2D: wider channels and several 32-pixel blocks (the 4 x 4 transposed moves and their edges)', () => {
    const shapes = fc
      .record({
        n: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 3, max: 11 }),
        w: fc.integer({ min: 3, max: 11 }),
        ci: fc.integer({ min: 4, max: 19 }),
        co: fc.integer({ min: 4, max: 19 }),
        k: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }),
        padding: fc.constantFrom('same' as const, 'valid' as const),
        activation: fc.constantFrom('relu', 'linear'),
        density: fc.oneof(
          fc.constantFrom(0.01, 0.1, 1),
          fc.double({ min: 0.01, max: 1, noNaN: true }),
        ),
        seed: fc.integer({ min: 0, max: 1e6 }),
      })
      .filter((c) => c.padding === 'same' || (c.k <= c.h && c.k <= c.w));
    fc.assert(
      fc.property(shapes, (c) => {
        const layer = new DynamicConv2D({
          filters: c.co,
          kernelSize: c.k,
          strides: c.stride,
          padding: c.padding,
          useBias: false,
          activation: c.activation,
          sparsity: Math.min(0.999, 1 - c.density),
          seed: c.seed,
        });
        const error = compare(layer, [c.n, c.h, c.w, c.ci], c.seed);
        layer.dispose();
        return error <= 1e-5;
      }),
      { numRuns: 25, seed: 12 },
    );
  });

  it("computes no input gradient for an input that needs none (a first layer's images)", async () => {
    const layer = new DynamicConv2D({ filters: 8, kernelSize: 3, sparsity: 0.8, seed: 4 });
    layer.kernelMode = 'sparse';
    const x = tf.randomUniform([2, 6, 6, 4], 0, 1, 'float32', 5);
    const kernels = (fn: () => void) => tf.profile(fn).then((p) => p.kernels.map((k) => k.name));
    const weights = () => layer.trainableWeights.map((w) => w.read() as tf.Variable);
    tf.tidy(() => {
      layer.apply(x); // builds it
    });
    const weightsOnly = await kernels(() => {
      tf.tidy(() => {
        tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, weights());
      });
    });
    expect(weightsOnly).toContain('DynaprunSparseConv2DWeightGrad');
    expect(weightsOnly).not.toContain('DynaprunSparseConv2DInputGrad');
    const xv = tf.variable(x);
    const withInput = await kernels(() => {
      tf.tidy(() => {
        tf.variableGrads(
          () => tf.sum(layer.apply(xv) as tf.Tensor) as tf.Scalar,
          [xv, ...weights()],
        );
      });
    });
    expect(withInput).toContain('DynaprunSparseConv2DInputGrad');
    xv.dispose();
    x.dispose();
    layer.dispose();
  });

  it('DynamicDense: random batch sizes (several 32-row blocks), widths and densities', () => {
    const shapes = fc.record({
      n: fc.integer({ min: 1, max: 70 }),
      features: fc.integer({ min: 1, max: 60 }),
      units: fc.integer({ min: 1, max: 24 }),
      bias: fc.boolean(),
      activation,
      density,
      seed: fc.integer({ min: 0, max: 1e6 }),
    });
    fc.assert(
      fc.property(shapes, (c) => {
        const before = tf.memory().numTensors;
        const layer = new DynamicDense({
          units: c.units,
          useBias: c.bias,
          activation: c.activation,
          sparsity: Math.min(0.999, 1 - c.density),
          biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 3 }),
          seed: c.seed,
        });
        const error = compare(layer, [c.n, c.features], c.seed);
        layer.dispose();
        expect(tf.memory().numTensors).toBe(before);
        return error <= 1e-5;
      }),
      { numRuns: 60, seed: 11 },
    );
  });

  it('a training step on the sparse path leaves no tensors and no heap buffers behind', () => {
    const layer = new DynamicConv2D({
      filters: 8,
      kernelSize: 3,
      sparsity: 0.9,
      activation: 'relu',
    });
    layer.kernelMode = 'sparse';
    const x = tf.randomUniform([2, 8, 8, 4]);
    tf.tidy(() => {
      layer.apply(x); // builds the layer and its layout
    });
    const backend = tf.engine().findBackend('wasm') as BackendWasm;
    const tensors = tf.memory().numTensors;
    const buffers = backend.numDataIds();
    const optimizer = tf.train.adam(1e-3);
    optimizer.minimize(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, true)?.dispose();
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(buffers);
    x.dispose();
    layer.dispose();
  });
});
