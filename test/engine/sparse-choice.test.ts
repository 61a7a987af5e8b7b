// Which threads XNNPACK gets: one when a run trains its masked layers on the sparse kernels from the start.
import { describe, expect, it } from 'vitest';
import { trainsSparseFromStart, xnnpackThreadsFor } from '../../src/engine/sparse-choice.js';

describe('thread split between XNNPACK and the sparse kernels', () => {
  it('a run that starts sparse below the crossover, or forced sparse, trains sparse; dense-start runs do not', () => {
    expect(trainsSparseFromStart('auto', true, 0.9)).toBe(true);
    expect(trainsSparseFromStart('auto', true, 0.2)).toBe(false);
    expect(trainsSparseFromStart('sparse', true, 0.2)).toBe(true);
    expect(trainsSparseFromStart('dense', true, 0.9)).toBe(false);
    // GMP and one-shot start dense: their first epochs run on XNNPACK's convolutions.
    expect(trainsSparseFromStart('auto', false, 0.9)).toBe(false);
  });

  it('gives XNNPACK one thread for sparse runs and every thread otherwise', () => {
    expect(xnnpackThreadsFor(4, true)).toBe(1);
    expect(xnnpackThreadsFor(4, false)).toBe(4);
    expect(xnnpackThreadsFor(1, false)).toBe(1);
  });
});
