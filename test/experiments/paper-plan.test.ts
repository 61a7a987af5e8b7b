// paperPlan: --sparse-init reaches every run's config, and a plan without it is unchanged (so --reuse still matches).
import { describe, expect, it } from 'vitest';
import { paperPlan, type PaperPlanOptions } from '../../src/experiments/paper-plan.js';

const base: PaperPlanOptions = { out: 'runs/x', quick: false, backend: 'wasm', seed: 1 };

describe('paperPlan', () => {
  it('passes sparse-aware initialization to every run only when asked', () => {
    const plain = paperPlan({ ...base, only: ['dsr', 'static'] });
    expect(plain.every((job) => !('sparseInit' in job.config))).toBe(true);
    const scaled = paperPlan({ ...base, only: ['dsr', 'static'], sparseInit: true });
    expect(scaled).toHaveLength(plain.length);
    expect(scaled.every((job) => job.config.sparseInit === true)).toBe(true);
  });
});
