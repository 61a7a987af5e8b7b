// paperPlan: --sparse-init reaches every run's config (a plan without it is unchanged, so --reuse still matches); one-shot's
// fine-tuning length; estimated costs.
import { describe, expect, it } from 'vitest';
import { longestFirst } from '../../src/experiments/paper-jobs.js';
import {
  oneshotFinetuneEpochs,
  paperPlan,
  type PaperPlanOptions,
} from '../../src/experiments/paper-plan.js';

const base: PaperPlanOptions = { out: 'runs/x', quick: false, backend: 'wasm', seed: 1 };

describe('paperPlan', () => {
  it('passes sparse-aware initialization to every run only when asked', () => {
    const plain = paperPlan({ ...base, only: ['dsr', 'static'] });
    expect(plain.every((job) => !('sparseInit' in job.config))).toBe(true);
    const scaled = paperPlan({ ...base, only: ['dsr', 'static'], sparseInit: true });
    expect(scaled).toHaveLength(plain.length);
    expect(scaled.every((job) => job.config.sparseInit === true)).toBe(true);
  });

  it('fine-tunes one-shot as long as GMP trains at its final sparsity (the last quarter)', () => {
    const [oneshot] = paperPlan({ ...base, seeds: 1, only: ['oneshot'] });
    expect(oneshot!.config).toMatchObject({ epochs: 7, finetuneEpochs: 3 });
    expect([1, 2, 4, 10, 20].map(oneshotFinetuneEpochs)).toEqual([1, 1, 1, 3, 5]);
    const [quick] = paperPlan({ ...base, quick: true, only: ['oneshot'] });
    expect(quick!.config).toMatchObject({ epochs: 1, finetuneEpochs: 1 });
  });

  it('estimates each run’s work so that the longest start first', () => {
    const plan = paperPlan({
      ...base,
      seeds: 1,
      only: ['keras-paper', 'static', 'dsr', 'oneshot', 'gmp', 'dense-wide'],
    });
    const cost = Object.fromEntries(plan.map((job) => [job.row, job.cost]));
    // The committed comparison's runs (results/paper, median training time of 3 seeds, one core each):
    // keras-recipe 11.1 min, static 19.5, one-shot 55.0, so 0.57 and 2.83 of a static run.
    expect(cost['keras-paper']! / cost['static']!).toBeGreaterThan(0.47);
    expect(cost['keras-paper']! / cost['static']!).toBeLessThan(0.67);
    expect(cost['oneshot']! / cost['static']!).toBeGreaterThan(2.55);
    expect(cost['oneshot']! / cost['static']!).toBeLessThan(3.1);
    expect(longestFirst(plan).map((job) => job.row)).toEqual([
      'dense-wide',
      'oneshot',
      'gmp',
      'static',
      'dsr',
      'keras-paper',
    ]);
    expect(cost['dsr']! / cost['keras-paper']!).toBeGreaterThan(1.5);
    expect(cost['dsr']! / cost['keras-paper']!).toBeLessThan(4);
    // One-shot: 7 dense epochs and 3 sparse ones (GMP's last quarter at full sparsity), against 10 dense
    // and 10 sparse ones at the same budget: it saves 3/10 of what the static mask saves on dense.
    const dense = cost['dense-wide']!;
    expect((dense - cost['oneshot']!) / (dense - cost['static']!)).toBeCloseTo(3 / 10, 6);
  });
});
