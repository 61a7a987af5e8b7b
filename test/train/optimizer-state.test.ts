// Optimizer slot resets: every known optimizer's slots, fresh values, and typed errors instead of silent no-ops.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/engine/backend.js';
import { OptimizerStateError } from '../../src/errors.js';
import { DynamicDense, maskedLayers } from '../../src/layers/index.js';
import { resetMomentsOnMaskWrites, resetOptimizerSlots } from '../../src/train/optimizer-state.js';

/** A one-layer sparse model and one step of `optimizer` on it, so that every slot exists. */
function steppedModel(optimizer: tf.Optimizer, seed = 1): tf.LayersModel {
  const model = tf.sequential({
    layers: [new DynamicDense({ inputShape: [4], units: 3, sparsity: 0.5, seed })],
  });
  const x = tf.randomNormal([6, 4], 0, 1, 'float32', seed);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  optimizer.minimize(
    () => tf.sum(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar,
    false,
    variables,
  );
  x.dispose();
  return model;
}

/** The values of `optimizer`'s slot field `field` for the variable called `name`. */
function slot(optimizer: tf.Optimizer, field: string, name: string): Float32Array {
  const slots = (
    optimizer as unknown as Record<string, { originalName: string; variable: tf.Variable }[]>
  )[field]!;
  return Float32Array.from(
    slots.find((s) => s.originalName.startsWith(`${name}/`))!.variable.dataSync(),
  );
}

describe('resetOptimizerSlots', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const cases: [string, () => tf.Optimizer, string[], number][] = [
    ['adam', () => tf.train.adam(0.1), ['accumulatedFirstMoment', 'accumulatedSecondMoment'], 0],
    // Adamax's infinity norm was missing from the list of slots, so it was never reset.
    [
      'adamax',
      () => tf.train.adamax(0.1),
      ['accumulatedFirstMoment', 'accumulatedWeightedInfNorm'],
      0,
    ],
    ['momentum', () => tf.train.momentum(0.1, 0.9), ['accumulations'], 0],
    [
      'rmsprop',
      () => tf.train.rmsprop(0.1, 0.9, 0.5, 1e-7, true),
      ['accumulatedMeanSquares', 'accumulatedMoments', 'accumulatedMeanGrads'],
      0,
    ],
    // A fresh Adagrad accumulator starts at initialAccumulatorValue, not at 0.
    ['adagrad', () => tf.train.adagrad(0.1, 0.25), ['accumulatedGrads'], 0.25],
    ['adadelta', () => tf.train.adadelta(0.1), ['accumulatedGrads', 'accumulatedUpdates'], 0],
  ];
  for (const [name, make, fields, fresh] of cases) {
    it(`resets every ${name} slot at the given positions to a fresh slot's value, and no other`, () => {
      const optimizer = make();
      const model = steppedModel(optimizer);
      const kernel = maskedLayers(model)[0]!.kernelVariable.name;
      const before = fields.map((f) => slot(optimizer, f, kernel));
      expect(resetOptimizerSlots(optimizer, kernel, Int32Array.from([0, 5]))).toBe(fields.length);
      fields.forEach((f, k) => {
        const after = slot(optimizer, f, kernel);
        after.forEach((v, i) => {
          if (i === 0 || i === 5) expect(v, `${f}[${i}]`).toBeCloseTo(fresh, 7);
          else expect(v, `${f}[${i}]`).toBe(before[k]![i]);
        });
      });
      optimizer.dispose();
    });
  }

  it('changes nothing for a variable the optimizer does not train (another model), and says so by 0', () => {
    const optimizer = tf.train.adam(0.1);
    steppedModel(optimizer, 1);
    const other = steppedModel(tf.train.adam(0.1), 2);
    const kernel = maskedLayers(other)[0]!.kernelVariable.name;
    expect(resetOptimizerSlots(optimizer, kernel, Int32Array.from([0]))).toBe(0);
    // Before its first step an optimizer has no slots at all.
    expect(resetOptimizerSlots(tf.train.adam(0.1), kernel, Int32Array.from([0]))).toBe(0);
  });

  it('refuses an optimizer whose slots it does not know, when subscribing, not mid-training', () => {
    const sgd = tf.train.sgd(0.1);
    expect(resetOptimizerSlots(sgd, 'x/kernel', Int32Array.from([0]))).toBe(0);
    const unknown = Object.assign(Object.create(sgd) as tf.Optimizer, {
      getClassName: () => 'Lion',
    });
    expect(() => resetMomentsOnMaskWrites(unknown)).toThrow(OptimizerStateError);
    expect(() => resetMomentsOnMaskWrites(unknown)).toThrow(/Lion.*Adam, Adamax/);
    expect(() => resetOptimizerSlots(unknown, 'x/kernel', Int32Array.from([0]))).toThrow(
      OptimizerStateError,
    );
    // A known class whose slot field is gone (another tfjs version) is refused too.
    const changed = tf.train.adam(0.1);
    delete (changed as unknown as Record<string, unknown>)['accumulatedSecondMoment'];
    expect(() => resetMomentsOnMaskWrites(changed)).toThrow(/accumulatedSecondMoment/);
  });
});
