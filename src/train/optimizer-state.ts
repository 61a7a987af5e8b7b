// Resets optimizer state (Adam's moments) wherever a mask changes, so no weight coasts on stale moments.
import { tensor, tidy, type Optimizer, type Variable } from '@tensorflow/tfjs';
import { inPlaceBackend, writableInPlace } from '../engine/sparse-update.js';
import { heapFloat32 } from '../engine/wasm-heap.js';
import { OptimizerStateError } from '../errors.js';
import { onMaskWrite } from '../layers/masked-layer.js';

interface OptimizerVariable {
  readonly originalName: string;
  readonly variable: Variable;
}

/** One per-variable slot field of a tfjs optimizer, and the value a fresh slot starts at. */
interface SlotField {
  readonly field: string;
  /** The optimizer field holding a fresh slot's value (Adagrad's initialAccumulatorValue); default 0. */
  readonly initialFrom?: string;
}

/**
 * Where each tfjs optimizer class keeps its per-variable slots (private fields, by `getClassName()`;
 * dynaprune's fused Adam and momentum optimizers inherit tfjs's names). SGD keeps none. An explicit table
 * rather than a scan, so that an optimizer whose state is unknown fails loudly instead of coasting on
 * stale moments.
 */
const SLOT_FIELDS: Readonly<Record<string, readonly SlotField[]>> = {
  SGD: [],
  Momentum: [{ field: 'accumulations' }],
  Adam: [{ field: 'accumulatedFirstMoment' }, { field: 'accumulatedSecondMoment' }],
  Adamax: [{ field: 'accumulatedFirstMoment' }, { field: 'accumulatedWeightedInfNorm' }],
  RMSProp: [
    { field: 'accumulatedMeanSquares' },
    { field: 'accumulatedMoments' },
    { field: 'accumulatedMeanGrads' },
  ],
  Adagrad: [{ field: 'accumulatedGrads', initialFrom: 'initialAccumulatorValue' }],
  Adadelta: [{ field: 'accumulatedGrads' }, { field: 'accumulatedUpdates' }],
};

/** The slot arrays of `optimizer`, each with a fresh slot's value; throws for an optimizer it does not know. */
function slotsOf(
  optimizer: Optimizer,
): { slots: (OptimizerVariable | undefined)[]; fresh: number }[] {
  const name = optimizer.getClassName();
  const fields = Object.hasOwn(SLOT_FIELDS, name) ? SLOT_FIELDS[name]! : undefined;
  if (fields === undefined) {
    throw new OptimizerStateError(
      `Cannot reset the moments of a ${name} optimizer where masks change: dynaprune knows where ` +
        `${Object.keys(SLOT_FIELDS).join(', ')} keep them. Train with one of those.`,
    );
  }
  const o = optimizer as unknown as Record<string, unknown>;
  return fields.map(({ field, initialFrom }) => {
    const slots = o[field];
    const fresh = initialFrom === undefined ? 0 : o[initialFrom];
    if (!Array.isArray(slots) || typeof fresh !== 'number') {
      throw new OptimizerStateError(
        `The ${name} optimizer has no slot array '${field}'` +
          (initialFrom ? ` or number '${initialFrom}'` : '') +
          ': this version of tfjs keeps its state elsewhere, so its moments cannot be reset at mask changes.',
      );
    }
    return { slots: slots as (OptimizerVariable | undefined)[], fresh };
  });
}

/**
 * Resets every optimizer slot of `variableName` at `indices` (flat positions) to a fresh slot's value (0;
 * Adagrad's initial accumulator). Slots are found by their tfjs naming convention `<variable>/<suffix>`.
 * Returns how many slot tensors were changed: 0 when the optimizer has no slots for the variable, which
 * happens before its first step and for variables it does not train (another model's layer, a frozen
 * one); checkpoints restore slot names so that a resumed run's slots are found
 * (`loadCheckpoint`). Throws OptimizerStateError for an optimizer whose slots it does not know.
 */
export function resetOptimizerSlots(
  optimizer: Optimizer,
  variableName: string,
  indices: Int32Array,
): number {
  const fields = slotsOf(optimizer);
  if (indices.length === 0) return 0;
  let changed = 0;
  for (const { slots, fresh } of fields) {
    for (const slot of slots) {
      // tfjs optimizers leave holes for variables that got no gradient yet.
      if (slot === undefined || !slot.originalName.startsWith(`${variableName}/`)) continue;
      fillAt(slot.variable, indices, fresh);
      changed++;
    }
  }
  return changed;
}

/**
 * Writes `value` at `indices` of `variable`: in place in the wasm heap when no other tensor shares its
 * data (a mask update changes a few thousand positions of a million; copying every slot both ways cost
 * more than the update itself), otherwise as a new value.
 */
function fillAt(variable: Variable, indices: Int32Array, value: number): void {
  const where = inPlaceBackend();
  if (where !== undefined && writableInPlace(where.backend, [variable])) {
    const values = heapFloat32(where.backend, variable);
    for (const i of indices) values[i] = value;
    return;
  }
  const values = Float32Array.from(variable.dataSync());
  for (const i of indices) values[i] = value;
  tidy(() => variable.assign(tensor(values, variable.shape)));
}

const subscriptions = new Map<Optimizer, { count: number; unsubscribe: () => void }>();

/**
 * From now on, every mask write of any dynamic layer resets `optimizer`'s slots at the changed positions
 * (pruned and regrown alike): a pruned weight then gets no update from old momentum and stays exactly 0,
 * and a regrown one starts fresh. Subscribing the same optimizer twice resets once; each call returns
 * its own release function, and the subscription ends when every caller has released it. Throws
 * OptimizerStateError at once for an optimizer whose slots it does not know (see SLOT_FIELDS).
 */
export function resetMomentsOnMaskWrites(optimizer: Optimizer): () => void {
  // An optimizer whose state is unknown is refused now, not at the first mask change mid-training.
  slotsOf(optimizer);
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
