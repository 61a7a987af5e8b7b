// Schedules scale with the run: the papers' step counts for full-length runs, several updates in short ones.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { getMethod, type MethodName } from '../../src/algorithms/registry.js';
import {
  DoublingSchedule,
  plannedUpdates,
  REFERENCE_RUN_STEPS,
  scaledPeriod,
} from '../../src/algorithms/schedules.js';
import { SET } from '../../src/algorithms/set.js';
import { SparseTrainer } from '../../src/algorithms/sparse-trainer.js';
import { Random } from '../../src/util/random.js';
import { sparseModel } from './helpers.js';

describe('schedules that scale with the run', () => {
  it("keeps the papers' periods for a full-length run and scales them down for shorter ones", () => {
    const dsr = new DoublingSchedule(undefined, undefined, undefined, REFERENCE_RUN_STEPS);
    const periods = (total: number) =>
      [0.1, 0.3, 0.6, 0.8].map((f) => dsr.periodAt(Math.floor(f * total), total));
    expect(periods(REFERENCE_RUN_STEPS)).toEqual([100, 200, 400, 800]);
    expect(periods(10 * REFERENCE_RUN_STEPS)).toEqual([100, 200, 400, 800]);
    // `--quick`: 2 epochs of 5,000 images at batch 32.
    expect(periods(314)).toEqual([2, 4, 8, 16]);
    expect(scaledPeriod(100, 10, REFERENCE_RUN_STEPS)).toBe(1);
    expect(scaledPeriod(100, 10, undefined)).toBe(100);
  });

  const methods: MethodName[] = ['dsr', 'set', 'rigl', 'gmp'];
  for (const name of methods) {
    it(`${name} with default settings updates several times in every run of 100 steps or more`, () => {
      const algorithm = getMethod(name).create({ sparsity: 0.9 })!;
      for (const total of [100, 314, 1_000, REFERENCE_RUN_STEPS, 200_000]) {
        expect(plannedUpdates(algorithm.schedule, total)).toBeGreaterThanOrEqual(5);
      }
    });
  }

  it('an explicit period is kept exactly', () => {
    const algorithm = getMethod('set').create({ sparsity: 0.9, period: 7 })!;
    expect(algorithm.schedule.periodAt(1, 50)).toBe(7);
  });

  it('says once, in the initial record, when a run is too short for any update', async () => {
    const model = await sparseModel(0.8, 41);
    const optimizer = tf.train.adam(0.01);
    const trainer = new SparseTrainer(model, new SET({ period: 100 }), { optimizer });
    const record = trainer.onTrainBegin({
      model,
      optimizer,
      stepsPerEpoch: 25,
      totalSteps: 50,
      startStep: 0,
      rng: new Random(1),
    });
    expect(record['plannedUpdates']).toBe(0);
    expect(String(record['warning'])).toMatch(/will not change any mask.*50 steps/);
    const fine = new SparseTrainer(model, new SET(), { optimizer });
    expect(fine.scheduleFacts(50)['warning']).toBeUndefined();
    optimizer.dispose();
  });
});
