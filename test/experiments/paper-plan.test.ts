// paperPlan: --sparse-init reaches every run's config (a plan without it is unchanged, so --reuse still matches); one-shot's
// fine-tuning length; estimated costs.
import { describe, expect, it } from 'vitest';
import { relativeStepCost } from '../../src/experiments/paper-cost.js';
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
      only: ['keras-paper', 'dsr', 'oneshot', 'gmp', 'dense-wide'],
    });
    const cost = Object.fromEntries(plan.map((job) => [job.row, job.cost]));
    // Measured on the idle machine (RESULTS §5.3): one-shot ~50 min, DSR ~23, the paper's CNN ~10.
    expect(longestFirst(plan).map((job) => job.row)).toEqual([
      'dense-wide',
      'oneshot',
      'gmp',
      'dsr',
      'keras-paper',
    ]);
    expect(cost['dsr']! / cost['keras-paper']!).toBeGreaterThan(1.5);
    expect(cost['dsr']! / cost['keras-paper']!).toBeLessThan(4);
    // One-shot: 7 dense epochs and 3 sparse ones (GMP's last quarter at full sparsity), against 10 dense.
    const sparseEpoch = relativeStepCost(
      1 - plan.find((j) => j.row === 'oneshot')!.config.sparsity!,
    );
    expect(cost['oneshot']! / cost['dense-wide']!).toBeCloseTo((7 + 3 * sparseEpoch) / 10, 6);
  });
});
