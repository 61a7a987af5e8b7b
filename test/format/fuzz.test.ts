// Property-based fuzzing in CI: mutated containers through decode, inspect and the runtime are refused with a
// typed error or work; `npm run fuzz` runs the same cases by the 50,000, with a timer and a memory ceiling.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caseBytes, fuzzCaseArb, runCase, seedContainers } from '../../scripts/fuzz/cases.js';

const seeds = seedContainers();

describe('container fuzzing', () => {
  it('every seed is a valid container that loads and predicts', async () => {
    for (const seed of seeds)
      expect(await runCase(seed, true)).toEqual({ kind: 'accepted', finite: true });
  });

  it('3,000 mutated files: accepted, or refused with a typed error, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzCaseArb(seeds.length, 300), async (c) => {
        const outcome = await runCase(caseBytes(seeds, c), true);
        if (outcome.kind === 'untyped') throw new Error(outcome.error);
      }),
      { numRuns: 3000, seed: 2026 },
    );
  }, 300_000);

  it('the mutations reach the deep checks, not only the checksums', async () => {
    const counts = new Map<string, number>();
    for (const c of fc.sample(fuzzCaseArb(seeds.length, 300), { numRuns: 300, seed: 7 })) {
      const outcome = await runCase(caseBytes(seeds, c), false);
      const key = outcome.kind === 'refused' ? outcome.code : outcome.kind;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const code of [
      'accepted',
      'E_INVALID_MODEL',
      'E_INVALID_SIZE',
      'E_TRUNCATED',
      'E_CHECKSUM',
    ])
      expect(counts.get(code) ?? 0, `${code} in ${JSON.stringify([...counts])}`).toBeGreaterThan(0);
  });
});
