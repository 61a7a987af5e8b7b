// Optimizer steps at the active positions only, for kernels that trained on the sparse path (issue 10).
import {
  add,
  engine,
  getBackend,
  mul,
  scalar,
  tidy,
  type NamedTensorMap,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { SparseLayout } from './sparse-layout.js';
import { trainingWasmFor, type TrainingWasmExports } from './training-wasm.js';
import { heapOffset } from './wasm-heap.js';

/**
 * For each kernel variable of a masked layer, the function that says which layout the layer's last
 * forward pass computed with: the layout when it took the sparse path and its mask has not changed
 * since, undefined otherwise. Weak, so models that are dropped are forgotten.
 */
const activeLayouts = new WeakMap<Variable, () => SparseLayout | undefined>();

/** Called once by a masked layer for its kernel variable; `current` is read at every optimizer step. */
export function trackSparseKernel(kernel: Variable, current: () => SparseLayout | undefined): void {
  activeLayouts.set(kernel, current);
}

/**
 * The layout to update `variable` at, when its layer's last forward pass ran on the sparse kernels with
 * the mask the variable still has: its gradient is then zero at every masked position, and so are the
 * optimizer's moments there (they are reset whenever a mask changes), so the dense update would leave
 * those entries exactly as they are and updating only the active positions gives identical weights.
 */
export function sparseLayoutOf(variable: Variable | undefined): SparseLayout | undefined {
  return variable === undefined ? undefined : activeLayouts.get(variable)?.();
}

/** What an in-place update needs: the wasm backend and dynaprune's kernels on it. */
export interface InPlace {
  readonly backend: BackendWasm;
  readonly kernels: TrainingWasmExports;
}

/** The wasm backend and its kernels when they are the active backend, else undefined. */
export function inPlaceBackend(): InPlace | undefined {
  if (getBackend() !== 'wasm') return undefined;
  const backend = engine().findBackend('wasm') as BackendWasm | null;
  const kernels = backend ? trainingWasmFor(backend) : undefined;
  return backend && kernels ? { backend, kernels } : undefined;
}

/**
 * Whether each tensor's data may be written in place: it lives on the wasm heap and no other tensor
 * shares it (tfjs-wasm shares data between a tensor and its clones and reshapes, and a snapshot a user
 * took with `clone()` must not change under them).
 */
export function writableInPlace(backend: BackendWasm, tensors: readonly Tensor[]): boolean {
  return tensors.every((t) => {
    const data = backend.dataIdMap.get(t.dataId);
    return data !== undefined && data.memoryOffset !== null && data.refCount === 1;
  });
}

/** Σ w² over the active positions of `kernel` (for the loss's weight-decay term), read in place. */
export function sumSquaresAt(where: InPlace, kernel: Variable, layout: SparseLayout): number {
  return where.kernels.sumSquaresAt(
    heapOffset(where.backend, kernel),
    layout.cscPtr.offset,
    layout.cscRow.offset,
    layout.k,
    layout.co,
  );
}

/**
 * L2 weight decay for the kernels in `decayed` (variable names) that train on the sparse path: the
 * optimizer adds `weightDecay · w` to their gradient at the active positions, where the loss term
 * `weightDecay / 2 · Σ w²` would have put it, and the training loop leaves them out of that term.
 */
export interface SparseWeightDecay {
  readonly weightDecay: number;
  readonly decayed: ReadonlySet<string>;
}

/** The decay `name` takes in the optimizer when it trained on the sparse path. */
export function decayOf(decay: SparseWeightDecay, name: string): number {
  return decay.decayed.has(name) ? decay.weightDecay : 0;
}

/** No decay in the optimizer. */
export const noSparseDecay: SparseWeightDecay = { weightDecay: 0, decayed: new Set() };

/** Options of dynaprune's optimizers that concern sparse-path kernels. */
export interface SparseUpdateOptions {
  /** L2 decay that sparse-path kernels take in the update rather than through the loss. Default none. */
  readonly sparseDecay?: SparseWeightDecay;
  /**
   * Update sparse-path kernels at their active positions only (default true). false sweeps every entry,
   * as before issue 10's values-only update; the results are the same, and only benchmarks want it.
   */
  readonly activeOnly?: boolean;
}

/** One variable's gradient in an optimizer step (tfjs's NamedTensor, which its index does not export). */
export interface NamedGradient {
  readonly name: string;
  readonly tensor: Tensor;
}

/** An optimizer step's gradients in order, whether tfjs passed them as a list or as a map by name. */
export function namedGradients(
  variableGradients: NamedTensorMap | readonly NamedGradient[],
): NamedGradient[] {
  if (Array.isArray(variableGradients)) return [...(variableGradients as NamedGradient[])];
  const map = variableGradients as NamedTensorMap;
  return Object.keys(map).map((name) => ({ name, tensor: map[name]! }));
}

/** An optimizer slot: tfjs's slot name (`<variable>/m`, ...) and its variable. */
export interface OptimizerSlot {
  originalName: string;
  variable: Variable;
}

/** A slot as tfjs's optimizers create it (zeros like `value`, not trainable), so checkpoints match. */
export function zeroSlot(value: Variable, originalName: string): OptimizerSlot {
  return { originalName, variable: tidy(() => value.zerosLike().variable(false)) };
}

/** What one variable's step takes from its layer's path: see {@link SparseUpdatePolicy.plan}. */
export interface SparseStep {
  /** L2 decay to add to the gradient in the update: the sparse-path decay if it trained sparse, else 0. */
  readonly decay: number;
  /** The layout to update the variable at in place, when it trained sparse and may be written in place. */
  readonly inPlace: SparseLayout | undefined;
}

/**
 * What dynaprune's optimizers share about sparse-path kernels ({@link SparseUpdateOptions}); each optimizer
 * says only how it updates a variable, in place at the active positions or otherwise.
 */
export class SparseUpdatePolicy {
  readonly sparseDecay: SparseWeightDecay;
  readonly activeOnly: boolean;

  constructor(options: SparseUpdateOptions = {}) {
    this.sparseDecay = options.sparseDecay ?? noSparseDecay;
    this.activeOnly = options.activeOnly ?? true;
  }

  /**
   * The step of variable `name`: its decay, and the layout to update it at in place, which needs dynaprune's kernels (`where`; undefined when the optimizer cannot update in place)
   * and `value` and its `slots` writable in place.
   */
  plan(
    where: InPlace | undefined,
    name: string,
    value: Variable,
    slots: readonly Variable[],
  ): SparseStep {
    const trained = sparseLayoutOf(value);
    if (trained === undefined) return { decay: 0, inPlace: undefined };
    const inPlace =
      this.activeOnly && where !== undefined && writableInPlace(where.backend, [value, ...slots])
        ? trained
        : undefined;
    return { decay: decayOf(this.sparseDecay, name), inPlace };
  }
}

/** `gradient + decay · value`, a new tensor the caller disposes; `gradient` itself when `decay` is 0. */
export function withDecay(gradient: Tensor, value: Tensor, decay: number): Tensor {
  return decay === 0 ? gradient : tidy(() => add(gradient, mul(value, scalar(decay))));
}
