// Resets optimizer state (Adam's moments) wherever a mask changes, so no weight coasts on stale moments.
import { tensor, tidy, type Optimizer, type Variable } from '@tensorflow/tfjs';
import { inPlaceBackend, writableInPlace } from '../engine/sparse-update.js';
import { heapFloat32 } from '../engine/wasm-heap.js';
import { onMaskWrite } from '../layers/masked-layer.js';

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
      zeroAt(slot.variable, indices);
      changed++;
    }
  }
  return changed;
}

/**
 * Writes 0 at `indices` of `variable`: in place in the wasm heap when no other tensor shares its data (a
 * mask update changes a few thousand positions of a million; copying every slot both ways cost more than
 * the update itself), otherwise as a new value.
 */
function zeroAt(variable: Variable, indices: Int32Array): void {
  const where = inPlaceBackend();
  if (where !== undefined && writableInPlace(where.backend, [variable])) {
    const values = heapFloat32(where.backend, variable);
    for (const i of indices) values[i] = 0;
    return;
  }
  const values = Float32Array.from(variable.dataSync());
  for (const i of indices) values[i] = 0;
  tidy(() => variable.assign(tensor(values, variable.shape)));
}

const subscriptions = new Map<Optimizer, { count: number; unsubscribe: () => void }>();

/**
 * From now on, every mask write of any dynamic layer resets `optimizer`'s slots at the changed positions
 * (pruned and regrown alike): a pruned weight then gets no update from old momentum and stays exactly 0,
 * and a regrown one starts fresh. Subscribing the same optimizer twice resets once; each call returns
 * its own release function, and the subscription ends when every caller has released it.
 */
export function resetMomentsOnMaskWrites(optimizer: Optimizer): () => void {
  const existing = subscriptions.get(optimizer);
  if (existing) existing.count++;
  else {
    const unsubscribe = onMaskWrite(({ layer, changed }) =>
      resetOptimizerSlots(optimizer, layer.kernelVariable.name, changed),
    );
    subscriptions.set(optimizer, { count: 1, unsubscribe });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const entry = subscriptions.get(optimizer);
    if (entry && --entry.count === 0) {
      entry.unsubscribe();
      subscriptions.delete(optimizer);
    }
  };
}
