// Sparse-aware initialization: each unit scaled to its active fan-in restores the dense pre-activation variance.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { DynamicDense } from '../../src/layers/dynamic-dense.js';
import { maskedLayers } from '../../src/layers/index.js';
import { sparsify } from '../../src/sparsity/sparsify.js';

const INPUTS = 400;
const UNITS = 64;

function layer(sparsity: number, sparseInit: boolean): DynamicDense {
  const l = new DynamicDense({
    units: UNITS,
    sparsity,
    sparseInit,
    seed: 3,
    kernelInitializer: tf.initializers.glorotNormal({ seed: 7 }),
  });
  l.build([null, INPUTS]);
  return l;
}

/** Standard deviation of the layer's pre-activations on standard normal inputs. */
function outputStd(l: DynamicDense): number {
  return tf.tidy(() => {
    const x = tf.randomNormal([256, INPUTS], 0, 1, 'float32', 11);
    const y = l.apply(x) as tf.Tensor;
    return tf.moments(y).variance.sqrt().dataSync()[0]!;
  });
}

describe('sparse-aware initialization', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('scales each unit by sqrt(fan-in / active fan-in), same mask', () => {
    const plain = layer(0.9, false);
    const scaled = layer(0.9, true);
    const mask = plain.getMask();
    expect(Array.from(scaled.getMask())).toEqual(Array.from(mask));
    const a = plain.getKernel();
    const b = scaled.getKernel();
    for (let u = 0; u < UNITS; u++) {
      let active = 0;
      for (let i = u; i < mask.length; i += UNITS) active += mask[i]!;
      const factor = Math.sqrt(INPUTS / active);
      for (let i = u; i < mask.length; i += UNITS) expect(b[i]).toBeCloseTo(a[i]! * factor, 5);
    }
    expect(scaled.getConfig()['sparseInit']).toBe(true);
  });

  it("brings a 90%-sparse layer's output spread back to the dense layer's", () => {
    const dense = outputStd(layer(0, false));
    const plain = outputStd(layer(0.9, false));
    const scaled = outputStd(layer(0.9, true));
    expect(plain / dense).toBeLessThan(0.45); // about sqrt(0.1) = 0.32
    expect(Math.abs(scaled / dense - 1)).toBeLessThan(0.15);
  });

  it('is an option of sparsify', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [INPUTS],
          units: UNITS,
          kernelInitializer: tf.initializers.glorotNormal({ seed: 7 }),
        }),
      ],
    });
    const plain = await sparsify(model, { sparsity: 0.9, maskInit: 'random', seed: 2 });
    const scaled = await sparsify(model, {
      sparsity: 0.9,
      maskInit: 'random',
      seed: 2,
      sparseInit: true,
    });
    const [p, s] = [plain, scaled].map((r) => maskedLayers(r.model)[0]!);
    const ratio = Math.sqrt(
      s!.getKernel().reduce((a, v) => a + v * v, 0) / p!.getKernel().reduce((a, v) => a + v * v, 0),
    );
    expect(ratio).toBeGreaterThan(2.8);
    expect(ratio).toBeLessThan(3.5);
  });
});
