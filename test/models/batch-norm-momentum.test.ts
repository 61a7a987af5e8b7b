// The BatchNorm momentum build option reaches every BatchNorm layer of the models that have one.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getModel } from '../../src/models/registry.js';

const momenta = (model: tf.LayersModel): number[] =>
  model.layers
    .filter((l) => l.getClassName().includes('BatchNormalization'))
    .map((l) => l.getConfig()['momentum'] as number);

describe('batchNormMomentum', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const name of ['paper-cnn-wide', 'wrn-10-1']) {
    it(`${name}: Keras's 0.99 by default, the given value when set`, () => {
      const base = { inputShape: [32, 32, 3] as const, numClasses: 10, seed: 1, width: 1 };
      const byDefault = getModel(name).build(base);
      const quick = getModel(name).build({ ...base, batchNormMomentum: 0.9 });
      expect(momenta(byDefault).length).toBeGreaterThan(2);
      expect(new Set(momenta(byDefault))).toEqual(new Set([0.99]));
      expect(new Set(momenta(quick))).toEqual(new Set([0.9]));
      byDefault.dispose();
      quick.dispose();
    });
  }
});
