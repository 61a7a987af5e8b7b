// Gradual magnitude pruning (Zhu & Gupta 2017, arXiv 1710.01878): the "traditional" schedule, tfmot's PolynomialDecay.
import { InvalidArgumentError } from '../errors.js';
import { nnzForSparsity } from '../layers/mask-math.js';
import { allocate, type DistributionName } from '../sparsity/distributions.js';
import type { SparseAlgorithm, UpdateContext, UpdateResult } from './algorithm.js';
import { pruneToLargest } from './magnitude.js';
import {
  PeriodicSchedule,
  polynomialSparsity,
  REFERENCE_RUN_STEPS,
  type UpdateSchedule,
} from './schedules.js';

export interface GmpOptions {
  /** Final sparsity over the pruned layers together. */
  readonly finalSparsity: number;
  /**
   * How the final nonzeros are shared between layers (default uniform: every layer ends at
   * `finalSparsity`). With `erk`, each layer ramps to its own ERK sparsity along the same cubic.
   */
  readonly distribution?: DistributionName;
  /** Sparsity at the start (default 0: train dense first). */
  readonly initialSparsity?: number;
  /** Start pruning at this fraction of training (default 0). */
  readonly beginFraction?: number;
  /** Reach the final sparsity at this fraction of training (default 0.75, so the rest fine-tunes). */
  readonly endFraction?: number;
  /**
   * Prune every this many steps (default 100, tfmot's frequency, for a full-length run; shorter runs
   * scale it down in proportion, see {@link scaledPeriod}).
   */
  readonly period?: number;
  /** The run length `period` is meant for (default: the reference run when `period` is not given). */
  readonly referenceSteps?: number;
}

/** Where GMP reaches its final sparsity by default, as a fraction of training: the last quarter fine-tunes. */
export const GMP_DEFAULT_END_FRACTION = 0.75;

/**
 * GMP: every `period` steps between begin and end, each layer is pruned by magnitude to
 * s_t = s_f + (s_i − s_f)(1 − (t − t0)/(t_end − t0))³. Pruned weights never come back.
 */
export class GMP implements SparseAlgorithm {
  readonly name = 'gmp';
  readonly schedule: UpdateSchedule;
  readonly finalSparsity: number;
  readonly initialSparsity: number;
  readonly beginFraction: number;
  readonly endFraction: number;
  readonly distribution: DistributionName;

  constructor(options: GmpOptions) {
    this.finalSparsity = options.finalSparsity;
    this.initialSparsity = options.initialSparsity ?? 0;
    this.beginFraction = options.beginFraction ?? 0;
    this.endFraction = options.endFraction ?? GMP_DEFAULT_END_FRACTION;
    this.distribution = options.distribution ?? 'uniform';
    for (const [what, v] of [
      ['finalSparsity', this.finalSparsity],
      ['initialSparsity', this.initialSparsity],
    ] as const) {
      if (!(v >= 0 && v < 1))
        throw new InvalidArgumentError(`${what} must be in [0, 1), got ${v}.`);
    }
    if (!(
      this.beginFraction >= 0 &&
      this.beginFraction < this.endFraction &&
      this.endFraction <= 1
    )) {
      throw new InvalidArgumentError('GMP needs 0 <= beginFraction < endFraction <= 1.');
    }
    const schedule = new PeriodicSchedule(
      options.period ?? 100,
      1,
      options.referenceSteps ?? (options.period === undefined ? REFERENCE_RUN_STEPS : undefined),
    );
    this.schedule = {
      name: 'gmp',
      periodAt: (step, total) => schedule.periodAt(step, total),
      // Also update at the very step the ramp ends, so the final sparsity is reached exactly.
      shouldUpdate: (step, total) =>
        step >= this.beginFraction * total &&
        step <= Math.ceil(this.endFraction * total) &&
        (schedule.shouldUpdate(step, total) || step === Math.ceil(this.endFraction * total)),
    };
  }

  /** The target sparsity at `step` of a layer whose final sparsity is `final` (default the global one). */
  sparsityAt(step: number, totalSteps: number, final = this.finalSparsity): number {
    return polynomialSparsity(
      step,
      this.initialSparsity,
      final,
      this.beginFraction * totalSteps,
      Math.ceil(this.endFraction * totalSteps),
    );
  }

  update(context: UpdateContext): UpdateResult {
    const target = this.sparsityAt(context.step, context.totalSteps);
    const finals = allocate(
      this.distribution,
      context.layers.map((v) => ({
        name: v.name,
        shape: v.layer.maskVariable.shape.map((d) => d ?? 0),
      })),
      this.finalSparsity,
    );
    let pruned = 0;
    context.layers.forEach((view, l) => {
      // Uniform keeps the exact global target per layer; other distributions ramp to each layer's share.
      const final = this.distribution === 'uniform' ? this.finalSparsity : finals[l]!.sparsity;
      const layerTarget = this.sparsityAt(context.step, context.totalSteps, final);
      pruned += pruneToLargest(view, nnzForSparsity(layerTarget, view.size)).length;
    });
    return { facts: { targetSparsity: target, prunedCount: pruned } };
  }

  getState(): Record<string, unknown> {
    return {};
  }

  setState(): void {}
}
