// Invariants of every algorithm over 50+ mask updates: exact nnz, zeros stay zero, DSR conserves nnz, no collapse.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SparseAlgorithm } from '../../src/algorithms/algorithm.js';
import { DSR, proportionalGrants } from '../../src/algorithms/dsr.js';
import { GMP } from '../../src/algorithms/gmp.js';
import { RigL } from '../../src/algorithms/rigl.js';
import { PeriodicSchedule } from '../../src/algorithms/schedules.js';
import { SET } from '../../src/algorithms/set.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { StaticMask } from '../../src/algorithms/static.js';
import { initBackend } from '../../src/engine/backend.js';
import { maskedLayers } from '../../src/layers/index.js';
import { Random } from '../../src/util/random.js';
import { batch, sparseModel, trainStep } from './helpers.js';

const UPDATES = 60;

function checkMaskedZeros(model: tf.LayersModel): void {
  for (const layer of maskedLayers(model)) {
    const mask = layer.getMask();
    const kernel = layer.getKernel();
    for (let i = 0; i < mask.length; i++) if (mask[i] === 0) expect(kernel[i]).toBe(0);
  }
}

const nnzs = (model: tf.LayersModel): number[] => maskedLayers(model).map((l) => l.nnz);
const masks = (model: tf.LayersModel): number[][] =>
  maskedLayers(model).map((l) => Array.from(l.getMask()));

/** Trains 2 steps between updates (every update checked) and returns the records. */
async function run(
  algorithm: SparseAlgorithm,
  seed: number,
  onUpdate: (model: tf.LayersModel, step: number) => void,
): Promise<{ model: tf.LayersModel; trainer: SparseTrainer }> {
  const model = await sparseModel(0.8, seed);
  const optimizer = tf.train.adam(0.01);
  const trainer = new SparseTrainer(model, algorithm, { rng: new Random(seed), optimizer });
  const totalSteps = UPDATES * 2;
  for (let step = 1; step <= totalSteps; step++) {
    const b = batch(step);
    trainStep(model, optimizer, b);
    checkMaskedZeros(model);
    if (trainer.step({ step, totalSteps, batch: b })) onUpdate(model, step);
    tf.dispose([b.x, b.y]);
  }
  optimizer.dispose();
  return { model, trainer };
}

describe('sparse-training invariants (60 mask updates each)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('DSR keeps the total nnz exactly constant, regrows exactly K, and never collapses', async () => {
    const start = nnzs(await sparseModel(0.8, 3)).reduce((a, b) => a + b, 0);
    let updates = 0;
    const { trainer } = await run(
      new DSR({ schedule: new PeriodicSchedule(2), targetPruned: 40 }),
      3,
      (model) => {
        updates++;
        expect(nnzs(model).reduce((a, b) => a + b, 0)).toBe(start);
        for (const n of nnzs(model)) expect(n).toBeGreaterThan(0);
      },
    );
    expect(updates).toBeGreaterThanOrEqual(50);
    for (const r of trainer.records) expect(r['regrownCount']).toBe(r['prunedCount']);
    // The threshold adapts: it must have moved away from 1e-3 and pruning must have happened.
    expect(trainer.records.some((r) => (r['prunedCount'] as number) > 0)).toBe(true);
    expect(new Set(trainer.records.map((r) => r['H'])).size).toBeGreaterThan(1);
  });

  it('DSR moves weights between layers in proportion to their survivors', () => {
    expect(proportionalGrants([300, 100, 0], [1000, 1000, 1000], 40)).toEqual([30, 10, 0]);
    const grants = proportionalGrants([2, 1, 1], [1000, 1000, 1000], 10);
    expect(grants.reduce((a, b) => a + b, 0)).toBe(10);
    expect(grants[0]).toBe(5);
    // A full layer passes its share on; the total still comes back exactly.
    const capped = proportionalGrants([10, 1, 1], [3, 100, 100], 30);
    expect(capped).toEqual([3, 14, 13]);
    expect(proportionalGrants([1, 1], [2, 3], 10)).toEqual([2, 3]);
  });

  for (const [name, make] of [
    ['SET', () => new SET({ period: 2, stopFraction: 1 })],
    ['RigL', () => new RigL({ period: 2, stopFraction: 1, cosineDecay: false })],
    ['static', () => new StaticMask()],
  ] as [string, () => SparseAlgorithm][]) {
    it(`${name} keeps every layer's nnz exactly`, async () => {
      const before = nnzs(await sparseModel(0.8, 5));
      let updates = 0;
      const { model } = await run(make(), 5, (m) => {
        updates++;
        expect(nnzs(m)).toEqual(before);
      });
      if (name !== 'static') expect(updates).toBeGreaterThanOrEqual(50);
      expect(nnzs(model)).toEqual(before);
    });
  }

  it('GMP follows the cubic schedule exactly and never regrows', async () => {
    const gmp = new GMP({ finalSparsity: 0.95, initialSparsity: 0.8, period: 2, endFraction: 1 });
    let previous: number[][] | undefined;
    await run(gmp, 7, (model, step) => {
      const target = 0.95 + (0.8 - 0.95) * (1 - step / (UPDATES * 2)) ** 3;
      maskedLayers(model).forEach((l) =>
        expect(l.nnz).toBe(Math.min(Math.round((1 - target) * l.kernelSize), l.kernelSize)),
      );
      const now = masks(model);
      if (previous)
        now.forEach((m, l) =>
          m.forEach((v, i) => expect(v).toBeLessThanOrEqual(previous![l]![i]!)),
        );
      previous = now;
    });
  });

  it('the same seed gives the same masks; another seed does not', async () => {
    const a = await run(
      new DSR({ schedule: new PeriodicSchedule(2), targetPruned: 40 }),
      9,
      () => undefined,
    );
    const b = await run(
      new DSR({ schedule: new PeriodicSchedule(2), targetPruned: 40 }),
      9,
      () => undefined,
    );
    const c = await run(
      new DSR({ schedule: new PeriodicSchedule(2), targetPruned: 40 }),
      10,
      () => undefined,
    );
    expect(masks(a.model)).toEqual(masks(b.model));
    expect(masks(a.model)).not.toEqual(masks(c.model));
  });

  it('resets the Adam moments of regrown weights', async () => {
    const model = await sparseModel(0.8, 11);
    const optimizer = tf.train.adam(0.01);
    const trainer = new SparseTrainer(model, new SET({ period: 1, stopFraction: 1 }), {
      rng: new Random(1),
      optimizer,
    });
    for (let step = 1; step <= 3; step++) trainStep(model, optimizer, batch(step));
    const layer = maskedLayers(model)[0]!;
    const before = layer.getMask();
    trainer.step({ step: 4, totalSteps: 10 });
    const after = layer.getMask();
    const slots = optimizer as unknown as {
      accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
      accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
    };
    const name = `${layer.kernelVariable.name}/`;
    const m = slots.accumulatedFirstMoment
      .find((s) => s.originalName.startsWith(name))!
      .variable.dataSync();
    const v = slots.accumulatedSecondMoment
      .find((s) => s.originalName.startsWith(name))!
      .variable.dataSync();
    let regrown = 0;
    for (let i = 0; i < after.length; i++) {
      if (after[i] === 1 && before[i] === 0) {
        regrown++;
        expect(m[i]).toBe(0);
        expect(v[i]).toBe(0);
        expect(layer.getKernel()[i]).toBe(0);
      }
    }
    expect(regrown).toBeGreaterThan(0);
    optimizer.dispose();
  });

  it('RigL grows where the gradient magnitude is largest', async () => {
    const model = await sparseModel(0.8, 13);
    const b = batch(1);
    const trainer = new SparseTrainer(
      model,
      new RigL({ period: 1, stopFraction: 1, cosineDecay: false }),
      { rng: new Random(1), optimizer: tf.train.adam(0.01) },
    );
    // Capture the dense gradients the update uses by running the same computation first.
    const before = maskedLayers(model).map((l) => l.getMask());
    let seen: ReadonlyMap<string, Float32Array> | undefined;
    const algorithm = trainer.algorithm as RigL;
    const original = algorithm.update.bind(algorithm);
    algorithm.update = (context) => {
      seen = context.gradients();
      return original(context);
    };
    trainer.step({ step: 1, totalSteps: 10, batch: b });
    maskedLayers(model).forEach((layer, l) => {
      const grad = seen!.get(layer.name)!;
      const after = layer.getMask();
      const grown: number[] = [];
      const stillZero: number[] = [];
      for (let i = 0; i < after.length; i++) {
        if (before[l]![i] === 0 && after[i] === 1) grown.push(Math.abs(grad[i]!));
        if (before[l]![i] === 0 && after[i] === 0) stillZero.push(Math.abs(grad[i]!));
      }
      if (grown.length > 0 && stillZero.length > 0) {
        // Positions dropped in this update are excluded from growth and may carry larger gradients.
        const maxLeft = Math.max(...stillZero);
        expect(Math.min(...grown)).toBeGreaterThanOrEqual(maxLeft);
      }
    });
  });

  it('leaves the number of tensors unchanged across a training step and a mask update', async () => {
    const model = await sparseModel(0.8, 15);
    const optimizer = tf.train.adam(0.01);
    const trainer = new SparseTrainer(model, new RigL({ period: 1, stopFraction: 1 }), {
      rng: new Random(1),
      optimizer,
    });
    const b = batch(2);
    trainStep(model, optimizer, b); // creates Adam's slots
    const before = tf.memory().numTensors;
    trainStep(model, optimizer, b);
    trainer.step({ step: 2, totalSteps: 10, batch: b });
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
  });
});
