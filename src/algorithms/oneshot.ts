// One-shot magnitude pruning after dense training: the paper's "conventional" method (Han et al. 2015, arXiv 1506.02626).
import { allocate, type DistributionName } from '../sparsity/distributions.js';
import {
  neverSchedule,
  type SparseAlgorithm,
  type UpdateContext,
  type UpdateResult,
} from './algorithm.js';
import { pruneToLargest } from './magnitude.js';

export interface OneShotOptions {
  readonly sparsity: number;
  /** How the nonzeros are shared between layers (default uniform). */
  readonly distribution?: DistributionName;
}

/**
 * Trains dense, then, after the last step, keeps the largest-magnitude weights of each layer to reach
 * the target sparsity. Fine-tuning afterwards is a further training run with the mask fixed.
 */
export class OneShot implements SparseAlgorithm {
  readonly name = 'oneshot';
  readonly schedule = neverSchedule;
  private done = false;

  constructor(readonly options: OneShotOptions) {}

  update(): UpdateResult {
    return { facts: {} };
  }

  finalize(context: UpdateContext): UpdateResult | undefined {
    if (this.done) return undefined;
    this.done = true;
    const allocation = allocate(
      this.options.distribution ?? 'uniform',
      context.layers.map((v) => ({
        name: v.name,
        shape: v.layer.maskVariable.shape.map((d) => d ?? 0),
      })),
      this.options.sparsity,
    );
    let pruned = 0;
    context.layers.forEach((view, l) => {
      pruned += pruneToLargest(view, allocation[l]!.nnz).length;
    });
    return { facts: { prunedCount: pruned, oneShot: true } };
  }

  getState(): Record<string, unknown> {
    return { done: this.done };
  }

  setState(state: Record<string, unknown>): void {
    this.done = state['done'] === true;
  }
}
