// topK against a full sort: the same set for any scores, ties (broken by the lower index) and NaN included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topK } from '../../src/layers/mask-math.js';

/** The reference: every candidate sorted by score (NaN last), ties by index, the first k taken. */
function sortedTopK(candidates: Int32Array, score: (i: number) => number, k: number): number[] {
  const key = (i: number) => (Number.isNaN(score(i)) ? -Infinity : score(i));
  return [...candidates]
    .sort((a, b) => key(b) - key(a) || a - b)
    .slice(0, Math.max(0, k))
    .sort((a, b) => a - b);
}

describe('topK', () => {
  it('picks the same indices as a full sort, for scores with many ties, NaN and any candidate order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 120 }),
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double(), fc.constant(Number.NaN)), {
          minLength: 501,
          maxLength: 501,
        }),
        fc.integer({ min: -2, max: 130 }),
        (indices, scores, k) => {
          const candidates = Int32Array.from(indices);
          const score = (i: number) => scores[i]!;
          const got = [...topK(candidates, score, k)].sort((a, b) => a - b);
          expect(got).toEqual(sortedTopK(candidates, score, k));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the lower indices among equal scores, and returns them in candidate order', () => {
    const candidates = Int32Array.from([9, 3, 7, 1, 5]);
    expect([...topK(candidates, () => 0, 3)]).toEqual([3, 1, 5]);
    expect([...topK(candidates, (i) => (i === 7 ? 1 : 0), 2)]).toEqual([7, 1]);
  });

  it('takes every candidate when k reaches their number, none when k is 0', () => {
    const candidates = Int32Array.from([4, 2]);
    expect([...topK(candidates, (i) => i, 5)]).toEqual([4, 2]);
    expect(topK(candidates, (i) => i, 0).length).toBe(0);
  });
});
