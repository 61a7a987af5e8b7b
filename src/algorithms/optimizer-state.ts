// Resets optimizer state (Adam's moments) at regrown positions, so a regrown weight starts fresh.
import { tensor, tidy, type Optimizer, type Variable } from '@tensorflow/tfjs';

interface OptimizerVariable {
  readonly originalName: string;
  readonly variable: Variable;
}

/** The per-variable slots optimizers keep: Adam's first/second moments, momentum, RMSProp's accumulators. */
function slotsOf(optimizer: Optimizer): OptimizerVariable[][] {
  const o = optimizer as unknown as Record<string, unknown>;
  return [
    'accumulatedFirstMoment',
    'accumulatedSecondMoment',
    'accumulations',
    'accumulatedMeanSquares',
    'accumulatedMoments',
    'accumulatedMeanGrads',
    'accumulatedGrads',
    'accumulatedUpdates',
  ]
    .map((k) => o[k])
    .filter((v): v is OptimizerVariable[] => Array.isArray(v));
}

/**
 * Zeroes every optimizer slot of `variableName` at `indices` (flat positions). Slots are found by their
 * tfjs naming convention `<variable>/<suffix>`. Returns how many slot tensors were changed (0 before the
 * optimizer's first step, when no slots exist yet).
 */
export function resetOptimizerSlots(
  optimizer: Optimizer,
  variableName: string,
  indices: Int32Array,
): number {
  if (indices.length === 0) return 0;
  let changed = 0;
  for (const slots of slotsOf(optimizer)) {
    for (const slot of slots) {
      if (slot === undefined || !slot.originalName.startsWith(`${variableName}/`)) continue;
      const values = Float32Array.from(slot.variable.dataSync());
      for (const i of indices) values[i] = 0;
      tidy(() => slot.variable.assign(tensor(values, slot.variable.shape)));
      changed++;
    }
  }
  return changed;
}
