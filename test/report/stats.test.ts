// Seed statistics: mean ± std, paired differences with a t interval, and the lead sentence written from them.
import { describe, expect, it } from 'vitest';
import { leadSentence, meanStd, pairedComparison } from '../../src/report/stats.js';
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
    expect(sentence).toMatch(/larger than the seed noise: static; the rest are within it/);
    // When every comparison clears the noise, no "rest" is left to mention.
    const all = leadSentence(summary([dsr, row('static', [0.73, 0.679, 0.781])]));
    expect(all).toMatch(/each of these differences is larger than the seed noise\.$/);
    expect(all).not.toMatch(/the rest/);
  });

  it('says that one seed cannot separate anything, and marks quick previews', () => {
    const sentence = leadSentence(summary([row('dsr', [0.5]), row('static', [0.45])], true));
    expect(sentence).toMatch(/^In this preview/);
    expect(sentence).toMatch(/with one seed, no difference can be told from seed noise/);
  });
});
