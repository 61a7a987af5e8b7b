// Seed statistics: mean ± std, paired differences with a t interval, and the lead sentence written from them.
import { describe, expect, it } from 'vitest';
import {
  dsrComparisons,
  holmAdjust,
  leadSentence,
  meanStd,
  pairedComparison,
} from '../../src/report/stats.js';
import type { ModelSummary, PaperSummary } from '../../src/report/summary.js';

const row = (id: string, accs: number[]): ModelSummary =>
  ({
    id,
    label: id,
    testAcc: accs.reduce((a, b) => a + b, 0) / accs.length,
    seeds: accs.map((testAcc, i) => ({ seed: i + 1, testAcc, testLoss: 1, runDir: '' })),
  }) as unknown as ModelSummary;

const summary = (models: ModelSummary[], quick = false): PaperSummary =>
  ({ models, quick }) as unknown as PaperSummary;

describe('comparison statistics', () => {
  it('computes the sample mean and standard deviation', () => {
    const { mean, std } = meanStd([0.7, 0.72, 0.74]);
    expect(mean).toBeCloseTo(0.72, 12);
    expect(std).toBeCloseTo(0.02, 12);
  });

  it('tells a consistent paired difference from seed noise', () => {
    // DSR beats static by 2 points on every seed, with little spread: beyond noise.
    const dsr = row('dsr', [0.75, 0.7, 0.8]);
    const steady = pairedComparison(dsr, row('static', [0.73, 0.679, 0.781]))!;
    expect(steady.meanDiff).toBeCloseTo(0.02, 3);
    expect(steady.beyondNoise).toBe(true);
    // The same mean difference with swinging signs: within noise.
    const noisy = pairedComparison(dsr, row('set', [0.79, 0.64, 0.76]))!;
    expect(noisy.beyondNoise).toBe(false);
    const sentence = leadSentence(
      summary([dsr, row('static', [0.73, 0.679, 0.781]), row('set', [0.79, 0.64, 0.76])]),
    );
    expect(sentence).toMatch(/75\.00% test accuracy \(mean of 3 seeds\)/);
    expect(sentence).toMatch(/\+2\.\d\d pts vs static/);
    expect(sentence).toMatch(
      /larger than the seed noise \(paired t-test over seeds, Holm-corrected over these 2 comparisons\): static; the rest are within it/,
    );
    // When every comparison clears the noise, no "rest" is left to mention.
    const all = leadSentence(summary([dsr, row('static', [0.73, 0.679, 0.781])]));
    expect(all).toMatch(
      /each of these differences is larger than the seed noise \(paired t-test over seeds\)\.$/,
    );
    expect(all).not.toMatch(/the rest/);
    expect(all).not.toMatch(/Ahead of DSR/);
  });

  it('names a row at the budget that is ahead of DSR, even outside the primary family', () => {
    const dsr = row('dsr', [0.78, 0.79, 0.785]);
    const sentence = leadSentence(
      summary([
        dsr,
        row('static', [0.77, 0.781, 0.774]),
        // GMP (secondary) one point ahead on every seed; the ablation ahead on average, within the noise.
        row('gmp', [0.79, 0.8, 0.795]),
        row('dsr-no-realloc', [0.8, 0.77, 0.79]),
      ]),
    );
    expect(sentence).toMatch(/: \+1\.00 pts vs static; each of these differences/);
    expect(sentence).toMatch(
      /Ahead of DSR at the same budget: gmp by 1\.00 pts \(larger than the seed noise, judged alone\), dsr-no-realloc by 0\.17 pts \(within the seed noise\)\.$/,
    );
  });

  it('gives the paired t-test p-value and a t-interval from the t distribution', () => {
    // Differences 1, 2, 3 points: mean 2, sd 1, t = 2 / (1 / √3) = 3.464 with 2 degrees of freedom. With 2
    // degrees of freedom the t CDF is 1/2 + t / (2 √(2 + t²)), so p = 1 − t / √(2 + t²) = 1 − √12 / √14.
    const c = pairedComparison(row('dsr', [0.51, 0.52, 0.53]), row('static', [0.5, 0.5, 0.5]))!;
    expect(c.meanDiff).toBeCloseTo(0.02, 12);
    expect(c.pValue).toBeCloseTo(1 - Math.sqrt(12 / 14), 6);
    // The 97.5% quantile of t with 2 degrees of freedom is 4.3027.
    expect(c.halfWidth).toBeCloseTo((4.3027 * 0.01) / Math.sqrt(3), 5);
    expect(c.beyondNoise).toBe(false);
  });

  it('adjusts p-values with Holm: sorted, scaled by the hypotheses left, never decreasing', () => {
    expect(holmAdjust([0.01, 0.04, 0.03, 0.005])).toEqual([
      expect.closeTo(0.03, 12),
      expect.closeTo(0.06, 12),
      expect.closeTo(0.06, 12),
      expect.closeTo(0.02, 12),
    ]);
    expect(holmAdjust([0.6, NaN])).toEqual([0.6, NaN]);
    // Scaled p-values are capped at 1, and a later one never falls below an earlier one.
    expect(holmAdjust([0.9, 0.8])).toEqual([1, 1]);
  });

  it('corrects the primary comparisons together and judges secondary ones alone', () => {
    // The same differences against a primary row (RigL) and a secondary one (GMP), p ≈ 0.03 each: alone that
    // clears 5%, but RigL shares its family with static and SET, whose larger p-values raise its Holm p.
    const dsr = row('dsr', [0.8, 0.8, 0.8]);
    const close = [0.79, 0.785, 0.78];
    const rows = [
      dsr,
      row('static', [0.79, 0.8, 0.785]),
      row('set', [0.8, 0.78, 0.79]),
      row('rigl', close),
      row('gmp', close),
      row('small-dense', close),
      row('keras-recipe', close),
    ];
    const byId = new Map(dsrComparisons(summary(rows)).map((c) => [c.b.id, c]));
    const rigl = byId.get('rigl')!;
    const gmp = byId.get('gmp')!;
    expect(rigl.pValue).toBeCloseTo(gmp.pValue, 12);
    expect(gmp.pValue).toBeLessThan(0.05);
    expect(gmp.primary).toBe(false);
    expect(gmp.significant).toBe(true);
    // The dense CNN of the same size is compared too, as a secondary row; another architecture is not.
    expect(byId.get('small-dense')?.primary).toBe(false);
    expect(byId.has('keras-recipe')).toBe(false);
    expect(rigl.primary).toBe(true);
    expect(rigl.adjustedP).toBeGreaterThan(rigl.pValue);
    expect(rigl.significant).toBe(rigl.adjustedP < 0.05);
    expect(rigl.significant).toBe(false);
    // The lead sentence speaks for the primary family and names the correction.
    expect(leadSentence(summary(rows))).toMatch(
      /\(paired t-test over seeds, Holm-corrected over these 3 comparisons\)/,
    );
  });

  it('says that one seed cannot separate anything, and marks quick previews', () => {
    const sentence = leadSentence(summary([row('dsr', [0.5]), row('static', [0.45])], true));
    expect(sentence).toMatch(/^In this preview/);
    expect(sentence).toMatch(/with one seed, no difference can be told from seed noise/);
  });
});
