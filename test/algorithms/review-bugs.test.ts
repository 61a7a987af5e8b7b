// Issue #11's review bugs in the algorithms: GMP's distribution, DSR's empty layers and lost nonzeros.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LayerView, UpdateContext } from '../../src/algorithms/algorithm.js';
import { DSR } from '../../src/algorithms/dsr.js';
import { getMethod } from '../../src/algorithms/registry.js';
import { PeriodicSchedule } from '../../src/algorithms/schedules.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { initBackend } from '../../src/engine/backend.js';
import { maskedLayers } from '../../src/layers/index.js';
import type { MaskedLayer } from '../../src/layers/masked-layer.js';
import { allocate } from '../../src/sparsity/distributions.js';
import { Random } from '../../src/util/random.js';
import { sparseModel } from './helpers.js';

/** A layer view over plain arrays (DSR reads only masks and kernels). */
function view(name: string, kernel: number[], mask: number[]): LayerView {
  return {
    layer: undefined as unknown as MaskedLayer,
    name,
    size: kernel.length,
    kernel: Float32Array.from(kernel),
    mask: Float32Array.from(mask),
  };
}

function context(layers: LayerView[]): UpdateContext {
  return {
    step: 1,
    epoch: 0,
    totalSteps: 10,
    layers,
    rng: new Random(1),
    gradients: () => new Map(),
  };
}

const count = (mask: Float32Array): number => mask.reduce((a, b) => a + b, 0);

describe('review bugs (issue #11)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('GMP from the registry prunes to the requested distribution (ERK), not uniform', async () => {
    const model = await sparseModel(0, 31);
    const layers = maskedLayers(model);
    const gmp = getMethod('gmp').create({ sparsity: 0.8, distribution: 'erk', period: 1 })!;
    const trainer = new SparseTrainer(model, gmp, { optimizer: tf.train.adam(0.01) });
    for (let step = 1; step <= 8; step++) trainer.step({ step, totalSteps: 8 });
    const expected = allocate(
      'erk',
      layers.map((l) => ({ name: l.name, shape: l.maskVariable.shape.map((d) => d ?? 0) })),
      0.8,
    );
    expect(layers.map((l) => l.nnz)).toEqual(expected.map((a) => a.nnz));
    // ERK differs from uniform here, so the test tells them apart.
    expect(expected.map((a) => a.nnz)).not.toEqual(
      layers.map((l) => Math.round(0.2 * l.kernelSize)),
    );
    trainer.dispose();
  });

  it('DSR keeps at least one weight in a layer whose weights all fall below H', () => {
    const tiny = view('tiny', [1e-5, -2e-5, 3e-6, 0, 0, 0], [1, 1, 1, 0, 0, 0]);
    const big = view(
      'big',
      Array.from({ length: 20 }, (_, i) => (i < 10 ? 0.5 : 0)),
      Array.from({ length: 20 }, (_, i) => (i < 10 ? 1 : 0)),
    );
    const dsr = new DSR({ schedule: new PeriodicSchedule(1), targetPruned: 2 });
    const result = dsr.update(context([tiny, big]));
    expect(count(tiny.mask)).toBeGreaterThanOrEqual(1);
    // The survivor is the largest of the three.
    expect(tiny.mask[1]).toBe(1);
    expect(count(tiny.mask) + count(big.mask)).toBe(13);
    expect(result.facts['warning']).toBeUndefined();
  });

  it('DSR records and warns when it cannot regrow all it pruned', () => {
    // 9 of 10 active, 5 below H: only 1 free position that was not just pruned.
    const layer = view(
      'nearly-dense',
      [1e-5, 1e-5, 1e-5, 1e-5, 1e-5, 0.5, 0.5, 0.5, 0.5, 0],
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    );
    const dsr = new DSR({ schedule: new PeriodicSchedule(1), targetPruned: 5 });
    const result = dsr.update(context([layer]));
    expect(result.facts['prunedCount']).toBe(5);
    expect(result.facts['regrownCount']).toBe(1);
    expect(result.facts['unregrown']).toBe(4);
    expect(String(result.facts['warning'])).toMatch(/fell by 4, from 9 to 5/);
    expect(count(layer.mask)).toBe(5);
  });

  it('DSR without reallocation (the ablation) regrows each layer in place', () => {
    const layers = [0, 1].map((l) =>
      view(
        `l${l}`,
        Array.from({ length: 40 }, (_, i) => (i < 20 ? (i < 5 + 10 * l ? 1e-5 : 0.5) : 0)),
        Array.from({ length: 40 }, (_, i) => (i < 20 ? 1 : 0)),
      ),
    );
    const dsr = new DSR({ schedule: new PeriodicSchedule(1), targetPruned: 20, reallocate: false });
    dsr.update(context(layers));
    expect(layers.map((v) => count(v.mask))).toEqual([20, 20]);
    const moving = new DSR({ schedule: new PeriodicSchedule(1), targetPruned: 20 });
    const again = layers.map((v) => view(v.name, Array.from(v.kernel), Array.from(v.mask)));
    again[1]!.kernel.fill(1e-5, 0, 15);
    moving.update(context(again));
    expect(again.map((v) => count(v.mask))).not.toEqual([20, 20]);
  });
});
