// The one interface every sparse-training algorithm implements, and the per-layer view it works on.
import type { MaskedLayer } from '../layers/masked-layer.js';
import type { Random } from '../util/random.js';
import type { UpdateSchedule } from './schedules.js';

/** A sparse layer's weights and mask, copied out of tfjs once per update; algorithms edit them in place. */
export interface LayerView {
  readonly layer: MaskedLayer;
  readonly name: string;
  readonly size: number;
  /** The raw kernel. Set regrown weights to their new value here (0 for DSR). */
  readonly kernel: Float32Array;
  /** 1 keeps a weight, 0 prunes it. */
  readonly mask: Float32Array;
}

export interface UpdateContext {
  readonly step: number;
  readonly epoch: number;
  readonly totalSteps: number;
  readonly layers: readonly LayerView[];
  /** The run's seeded generator: every random choice comes from it. */
  readonly rng: Random;
  /**
   * Dense gradients of the loss with respect to each layer's effective kernel, on the current batch, by
   * layer name. Only for algorithms that declare {@link SparseAlgorithm.usesDenseGradients}; computed on
   * the first call.
   */
  readonly gradients: () => ReadonlyMap<string, Float32Array>;
}

/**
 * What an update did, for the record. The masks themselves are in the views; optimizer moments are reset
 * wherever a mask changed by the mask-write notification, so results need not list positions.
 */
export interface UpdateResult {
  /** Algorithm-specific facts for sparsity.jsonl (DSR: `H`, `prunedCount`). */
  readonly facts: Readonly<Record<string, unknown>>;
}

/**
 * A sparse-training algorithm decides which weights to drop and where to grow. When it runs is the
 * schedule's business; each layer's share of the nonzeros comes from the distribution used to sparsify
 * the model; both are separate axes (STYLE.md, the jaxpruner anchor).
 */
export interface SparseAlgorithm {
  /** The name `--method` takes. */
  readonly name: string;
  readonly schedule: UpdateSchedule;
  /**
   * The explicit request for dense kernel gradients (RigL's grow step): only an algorithm that sets it may
   * call `context.gradients()`. Sparse layers otherwise compute kernel gradients at active positions only;
   * for this request the trainer runs one extra forward and backward pass on the dense kernels
   * (`MaskedLayer.withDenseKernelGradients`), which writes no mask and so rebuilds no sparse layout.
   */
  readonly usesDenseGradients?: boolean;
  /** Changes masks (and regrown kernel values) in place. */
  update(context: UpdateContext): UpdateResult;
  /** After the last step (one-shot pruning acts here). Returns undefined when it does nothing. */
  finalize?(context: UpdateContext): UpdateResult | undefined;
  /** JSON-serializable state for checkpoints. */
  getState(): Record<string, unknown>;
  setState(state: Record<string, unknown>): void;
}

/** The schedule of algorithms that never update during training. */
export const neverSchedule: UpdateSchedule = {
  name: 'never',
  shouldUpdate: () => false,
  periodAt: () => 0,
};
