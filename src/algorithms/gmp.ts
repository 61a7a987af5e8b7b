// Gradual magnitude pruning (Zhu & Gupta 2017, arXiv 1710.01878): the "traditional" schedule, tfmot's PolynomialDecay.
import { InvalidArgumentError } from '../errors.js';
import { indicesWhere, nnzForSparsity, topK } from '../layers/mask-math.js';
import type { SparseAlgorithm, UpdateContext, UpdateResult } from './algorithm.js';
import { PeriodicSchedule, polynomialSparsity, type UpdateSchedule } from './schedules.js';

export interface GmpOptions {
  /** Final sparsity of every pruned layer. */
  readonly finalSparsity: number;
  /** Sparsity at the start (default 0: train dense first). */
  readonly initialSparsity?: number;
  /** Start pruning at this fraction of training (default 0). */
  readonly beginFraction?: number;
  /** Reach the final sparsity at this fraction of training (default 0.75, so the rest fine-tunes). */
  readonly endFraction?: number;
  /** Prune every this many steps (default 100, tfmot's frequency). */
  readonly period?: number;
}

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

  constructor(options: GmpOptions) {
    this.finalSparsity = options.finalSparsity;
    this.initialSparsity = options.initialSparsity ?? 0;
    this.beginFraction = options.beginFraction ?? 0;
    this.endFraction = options.endFraction ?? 0.75;
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
    const period = options.period ?? 100;
    const schedule = new PeriodicSchedule(period, 1);
    this.schedule = {
      name: 'gmp',
      periodAt: () => period,
      // Also update at the very step the ramp ends, so the final sparsity is reached exactly.
      shouldUpdate: (step, total) =>
        step >= this.beginFraction * total &&
        step <= Math.ceil(this.endFraction * total) &&
        (schedule.shouldUpdate(step, total) || step === Math.ceil(this.endFraction * total)),
    };
  }

  /** The target sparsity at `step`. */
  sparsityAt(step: number, totalSteps: number): number {
    return polynomialSparsity(
      step,
      this.initialSparsity,
      this.finalSparsity,
      this.beginFraction * totalSteps,
      Math.ceil(this.endFraction * totalSteps),
    );
  }

  update(context: UpdateContext): UpdateResult {
    const target = this.sparsityAt(context.step, context.totalSteps);
    let pruned = 0;
    for (const view of context.layers) {
      const active = indicesWhere(view.mask, 1);
      const keep = nnzForSparsity(target, view.size);
      if (active.length <= keep) continue;
      const kept = new Set(topK(active, (i) => Math.abs(view.kernel[i]!), keep));
      for (const i of active) {
        if (!kept.has(i)) {
          view.mask[i] = 0;
          view.kernel[i] = 0;
          pruned++;
        }
      }
    }
    return { regrown: new Map(), facts: { targetSparsity: target, prunedCount: pruned } };
  }

  getState(): Record<string, unknown> {
    return {};
  }

  setState(): void {}
}
